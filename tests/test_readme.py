"""The README, run as its reader would (issue 22 §4, §5): every command block, in order, in a temporary copy of the
repository.

Each fenced block of README.md is one of:

- ``bash``: Linux commands. Each is run (``consolidate …`` through the installed command line; ``cp``, ``mkdir``;
  ``curl`` against a stand-in DHIS2 server on 127.0.0.1), except the front door's install and the test command,
  which are what ``.ci/run`` itself runs (checked to be the same). ``consolidate serve`` is started, its clerk's
  page and a unit's page are fetched over HTTP on 127.0.0.1, and it is stopped with Ctrl+C.
- ``bat``: Windows lines (``py …``, ``.venv\\Scripts\\…``, ``consolidate …``, ``copy``, ``xcopy``, ``mkdir``), never
  run here: each must say, command by command, what the ``bash`` block just before it says.
- ``text``: console output, ``$ command`` lines each followed by what it prints. The command is run and the lines
  compared with what it really prints; a line ``…`` stands for lines left out, and ``…`` inside a line for text.
- ``csv PATH`` / ``toml PATH``: the reader's edit of a file: the CSV is the whole new file; the TOML lines set those
  keys in the file (a commented-out key is uncommented), each of which must already be there.

An HTML comment ``<!-- readme-test: fill TEMPLATES/ INBOX/ … -->`` is the step no command can do: the units fill
the templates and send them back (the cells are typed here as a unit types them in Excel).

Anything else (a block with another tag or none, a command not listed above, an indented command) fails the test,
so a block added to the README cannot go untested. `python tests/test_readme.py` prints each command and its real
output, to update the examples.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest
from click.testing import CliRunner

from consolidate.cli import main
from consolidate.core.template import FORM1_FIELDS, FORM1_SHEET, FORM2_INDICATORS, FORM2_SHEET
from consolidate.write.sample import SEED_FORM1, form2_values
from stores import history_store

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
FRONT_DOOR = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/consolidate run inbox/"
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -q -n auto"
# Run by .ci/run itself, from scratch: installing into the test's own venv, or running the suite from inside it, would not test more.
BY_CI = {("python3", "-m", "venv", ".venv"), (".venv/bin/pip", "install", "-e", "."),
         (".venv/bin/pip", "install", "-e", ".[test]"), (".venv/bin/pytest", "-q", "-n", "auto")}
BY_CI_REASON = "run by .ci/run itself, from scratch"
CONSOLIDATE = Path(sys.executable).with_name("consolidate")  # the installed command, as .venv/bin/consolidate
# The README's PostgreSQL server and DHIS2 server are the province's; here they are a throw-away database on the
# test server (CONSOLIDATE_TEST_POSTGRES, else those commands are skipped, saying so) and a stand-in on 127.0.0.1.
POSTGRES_IN_README = "postgresql://huyen_tuy_phuoc:mat-khau@may-chu-tinh/lich_su"
DHIS2_IN_README = "https://dhis2.tinh.gov.vn"
FILL = re.compile(r"<!--\s*readme-test:\s*fill\s+(\S+)\s+(\S+)[^>]*-->")
DIRECTIVE = re.compile(r"<!--\s*readme-test:")
ELLIPSIS = "…"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")


@dataclass
class Block:
    line: int  # where it starts in README.md, for the messages
    info: str
    lines: list[str]

    @property
    def tag(self) -> str:
        return self.info.split()[0] if self.info else ""


@dataclass
class Fill:
    line: int
    templates: str
    inbox: str


def parse(text: str) -> list[Block | Fill]:
    """The README's fenced blocks and fill steps, in order; an indented command or unknown step fails here."""
    items: list[Block | Fill] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(```+|~~~+)(.*)$", line)
        if fence:
            end = next((k for k in range(i + 1, len(lines)) if lines[k].startswith(fence[1])), None)
            assert end is not None, f"README.md:{i + 1}: a block that is never closed"
            items.append(Block(i + 1, fence[2].strip(), lines[i + 1:end]))
            i = end + 1
            continue
        if DIRECTIVE.search(line):
            step = FILL.search(line)
            assert step, f"README.md:{i + 1}: a readme-test step this test does not know: {line.strip()}"
            items.append(Fill(i + 1, step[1], step[2]))
        assert not re.match(r"^( {4,}|\t)(\$ |consolidate |\.venv|py )", line), (
            f"README.md:{i + 1}: an indented command: put it in a fenced block (```bash) so that it is run")
        i += 1
    return items


def commands(block: Block, windows: bool = False) -> list[list[str]]:
    """The simple commands of a block: lines joined where they end in a backslash, comments dropped, && split."""
    text = "\n".join(block.lines)
    if windows:  # a Windows path's backslashes are not escapes; the form is compared with slashes
        text = text.replace("\\", "/")
    else:
        text = text.replace("\\\n", " ")
    found: list[list[str]] = []
    for line in text.split("\n"):
        words = shlex.split(line, comments=not windows)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            found.append(words[:cut])
            words = words[cut + 1:]
    return found


def linux_form(words: list[str]) -> list[str]:
    """What a Windows command line says, written as the Linux one (slashes already turned)."""
    head, args = words[0], words[1:]
    if head == "py":
        return ["python3", *args]
    if head.startswith(".venv/Scripts/"):
        return [".venv/bin/" + head.removeprefix(".venv/Scripts/"), *args]
    if head == "xcopy":
        flags = sorted(a.upper() for a in args if a.startswith("/") and len(a) == 2)
        assert flags == ["/E", "/I"], f"xcopy needs /E /I to copy a whole folder: {words}"
        return ["cp", "-r", *[a for a in args if not (a.startswith("/") and len(a) == 2)]]
    if head == "copy":
        return ["cp", *args]
    assert head in ("consolidate", "mkdir"), f"a Windows command this test does not know: {words}"
    return words


def same_paths(words: list[str]) -> list[str]:
    return [w.rstrip("/") if len(w) > 1 else w for w in words]


# ------------------------------------------------------------------------------------------ the reader's machine


@dataclass
class Walk:
    """The README's reader, at the root of a fresh copy of the repository."""

    root: Path
    stack: ExitStack
    postgres: str | None = None
    postgres_skip: str = ""
    dhis2: "Dhis2 | None" = None
    ran: list[tuple[str, str]] = field(default_factory=list)  # (command, output), for `python tests/test_readme.py`
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (command, why)

    def substitute(self, words: list[str]) -> list[str] | None:
        """The command with the province's servers replaced by this machine's; None when there is no stand-in."""
        if any(POSTGRES_IN_README in w for w in words):
            if self.postgres is None and not self.postgres_skip:
                try:
                    self.postgres = self.stack.enter_context(history_store("postgresql", self.root))
                except pytest.skip.Exception as why:
                    self.postgres_skip = str(why) or "no PostgreSQL server"
            if self.postgres is None:
                self.skipped.append((shlex.join(words), self.postgres_skip))
                return None
            words = [w.replace(POSTGRES_IN_README, self.postgres) for w in words]
        if any(DHIS2_IN_README in w for w in words):
            if self.dhis2 is None:
                self.dhis2 = self.stack.enter_context(dhis2_server())
            words = [w.replace(DHIS2_IN_README, self.dhis2.url) for w in words]
        return words

    def run(self, words: list[str], where: str) -> str | None:
        """Run one command as the README shows it; its output (None when skipped). Fails on a failed command."""
        shown = shlex.join(words)
        if tuple(words) in BY_CI:
            self.skipped.append((shown, BY_CI_REASON))
            return None
        words = self.substitute(words)
        if words is None:
            return None
        head = words[0]
        if head == ".venv/bin/consolidate":  # the front door: the installed command itself, in a process of its own
            done = subprocess.run([str(self.root / head), *words[1:]], cwd=self.root, capture_output=True,
                                  timeout=120, env=child_env())
            output = (done.stdout + done.stderr).decode("utf-8", "replace")
            assert done.returncode in (0, 1), f"{where}: `{shown}` exited with {done.returncode}:\n{output}"
        elif head == "consolidate" and words[1:2] == ["serve"]:
            output = serve(self.root, words[2:], where)
        elif head == "consolidate":
            output = self.cli(words[1:], where, shown)
        elif head in ("cp", "mkdir", "curl"):
            if head == "curl":
                assert self.dhis2 is not None, f"{where}: curl is only run against the stand-in DHIS2 server: {shown}"
            done = subprocess.run(words, cwd=self.root, capture_output=True, timeout=60)
            output = (done.stdout + done.stderr).decode("utf-8", "replace")
            assert done.returncode == 0, f"{where}: `{shown}` failed:\n{output}"
        else:
            pytest.fail(f"{where}: a command this test does not know how to run: {shown}")
        self.ran.append((shown, output))
        return output

    def cli(self, args: list[str], where: str, shown: str) -> str:
        """`consolidate …`: the installed command line, in this process (a fresh process per command costs about a
        second of imports each; the front door above and `serve` run as processes of their own)."""
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            result = CliRunner().invoke(main, args, catch_exceptions=False)
        finally:
            os.chdir(cwd)
        assert result.exit_code in (0, 1), f"{where}: `{shown}` exited with {result.exit_code}:\n{result.output}"
        return result.output


def child_env() -> dict[str, str]:
    """This test's environment for a child, with PYTHONPATH made absolute (the Windows simulation's is relative)."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(root: Path, args: list[str], where: str) -> str:
    """`consolidate serve …` as the clerk starts it: on 127.0.0.1 (also where the README opens it to the office's
    network), on a free port; the clerk's page and a unit's page fetched; stopped with Ctrl+C."""
    args = ["127.0.0.1" if a == "0.0.0.0" else a for a in args]
    port = free_port()
    proc = subprocess.Popen([str(CONSOLIDATE), "serve", *args, "--port", str(port)], cwd=root, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(raw.decode("utf-8", "replace")) for raw in proc.stdout],
                     daemon=True).start()
    printed: list[str] = []
    try:
        clerk = None
        while clerk is None:
            try:
                printed.append(lines.get(timeout=60))
            except queue.Empty:
                pytest.fail(f"{where}: `consolidate serve` printed no clerk's link in 60 s:\n{''.join(printed)}")
            found = re.search(r"https?://[^/\s]+(/van-thu/\S+)", printed[-1])
            clerk = found[1] if found else None
        out = Path(args[args.index("--out") + 1]) if "--out" in args else Path("outbox")
        links = (root / out / "lien-ket-don-vi.csv").read_text(encoding="utf-8-sig").splitlines()
        unit = re.search(r"https?://[^/\s]+(/don-vi/[^,\s]+)", links[1])[1]
        for path, words in ((clerk, "Tình trạng"), (unit, "Gửi báo cáo")):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as page:
                assert page.status == 200 and words in page.read().decode("utf-8"), f"{where}: {path}"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl+C, as the README says
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"{where}: `consolidate serve` did not stop on Ctrl+C")
    return "".join(printed)


@dataclass
class Dhis2:
    url: str
    received: list[tuple[str, str, bytes]]  # (path and query, Content-Type, body)


@contextmanager
def dhis2_server(requests: int = 10) -> Iterator[Dhis2]:
    """A stand-in for the province's DHIS2: answers the dry run of /api/dataValueSets as DHIS2 does."""
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            answer = json.dumps({"status": "SUCCESS", "importCount": {"imported": 0, "updated": 0, "ignored": 0},
                                 "conflicts": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.2  # each wait for a request; the loop stops when the walk is done, or after `requests`
    done = threading.Event()

    def answer() -> None:
        while not done.is_set() and len(received) < requests:
            server.handle_request()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield Dhis2(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        done.set()
        thread.join(10)
        server.server_close()


# ------------------------------------------------------------------------------------------ the steps


def fill(root: Path, templates: str, inbox: str) -> list[Path]:
    """The units fill the yellow cells of their templates, as in Excel, and the clerk saves what they send back.

    Biểu mẫu 1: the seed report's figures of a unit of that name, else those of the seed's units in turn (Tổng số
    stays the template's formula); Biểu mẫu 2: the sample's rates for that unit (before and after).
    """
    source, target = root / templates, root / inbox
    target.mkdir(parents=True, exist_ok=True)
    seeds = list(SEED_FORM1.values())
    sent = []
    for n, path in enumerate(sorted(source.glob("*.xlsx"))):
        wb = openpyxl.load_workbook(path)
        ws = wb[FORM1_SHEET]
        row = next(r for r in ws.iter_rows(min_row=1) if r[2].value and str(r[2].value).startswith("="))
        name = row[1].value
        figures = SEED_FORM1.get(name, seeds[n % len(seeds)])[1:]  # all but Tổng số, a formula
        for cell, value in zip(row[3:3 + len(FORM1_FIELDS) - 1], figures):
            cell.value = value
        rates = form2_values(name, path.stem.removeprefix("mau-bao-cao-"))
        ws = wb[FORM2_SHEET]
        labels = {i.label: i.key for i in FORM2_INDICATORS}
        for r in ws.iter_rows():
            key = labels.get(r[1].value)
            if key:
                r[2].value, r[4].value = rates[key]["before"], rates[key]["after"]
        sent.append(target / path.name.replace("mau-bao-cao-", "bao-cao-"))
        wb.save(sent[-1])
    assert sent, f"no templates in {templates}"
    return sent


def type_into_workbook(path: Path, block: Block) -> None:
    """The table typed into the workbook's first sheet in Excel, over what was there (the sheet's own notes in
    columns further right are cleared with the rows they stood on)."""
    rows = list(csv.reader(block.lines))
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    ws.delete_rows(1, ws.max_row)
    for row in rows:
        ws.append(row)
    wb.save(path)


def edit_toml(path: Path, block: Block) -> None:
    """Set the block's keys in the file: each `key = …` line (or its commented `# key = …`) in the same table."""
    text = path.read_text(encoding="utf-8").split("\n")
    table = ""
    for line in block.lines:
        if not line.strip():
            continue
        header = re.match(r"^\[(.+)\]$", line.strip())
        if header:
            table = header[1]
            continue
        key = line.split("=", 1)[0].strip()
        here, done = "", False
        for k, old in enumerate(text):
            header = re.match(r"^\[(.+)\]\s*$", old.strip())
            if header:
                here = header[1]
            elif here == table and re.match(rf"^#?\s*{re.escape(key)}\s*=", old):
                text[k], done = line, True
                break
        assert done, f"README.md:{block.line}: {path.name} has no line for {key!r} in [{table or 'top'}]"
    path.write_text("\n".join(text), encoding="utf-8")


def matches(expected: list[str], real: str, where: str) -> None:
    """Each run of expected lines is found, in order, as consecutive real lines; a line `…` skips any number of
    lines, and `…` inside a line stands for any text. Time stamps are any time stamp."""
    actual = [TIMESTAMP.sub("T", " ".join(l.split())) for l in real.splitlines()]
    position = 0
    chunks, chunk = [], []
    for line in expected:
        if line.strip() == ELLIPSIS:
            chunks.append(chunk)
            chunk = []
        else:
            chunk.append(line)
    chunks.append(chunk)
    anchored = True  # the first chunk starts at the first line, unless the example starts with `…`
    for chunk in chunks:
        if not chunk:
            anchored = False
            continue
        patterns = [re.compile("^" + ".*".join(re.escape(part) for part in TIMESTAMP.sub("T", " ".join(l.split()))
                                                .split(ELLIPSIS)) + "$") for l in chunk]
        starts = [position] if anchored else range(position, len(actual) - len(chunk) + 1)
        start = next((s for s in starts if s + len(chunk) <= len(actual)
                      and all(p.match(actual[s + k]) for k, p in enumerate(patterns))), None)
        assert start is not None, (f"{where}: the README shows\n" + "\n".join(chunk)
                                   + "\nbut the command printed\n" + real)
        position, anchored = start + len(chunk), False
    assert not chunks[-1] or position == len(actual), (
        f"{where}: the command printed more than the README shows (end the example with `…`):\n{real}")


def walk(root: Path, stack: ExitStack, text: str | None = None, compare: bool = True) -> Walk:
    """Read README.md (or ``text``) from the top and do what it says, in the copy at ``root``; ``compare=False``
    runs the console examples' commands without comparing what they print."""
    reader = Walk(root, stack)
    items = parse(README.read_text(encoding="utf-8") if text is None else text)
    previous: Block | None = None
    for item in items:
        if isinstance(item, Fill):
            fill(root, item.templates, item.inbox)
            continue
        where = f"README.md:{item.line}"
        if item.tag == "bash":
            for words in commands(item):
                reader.run(words, where)
        elif item.tag == "bat":
            assert previous is not None and previous.tag == "bash", f"{where}: a Windows block with no Linux block before it"
            linux = [same_paths(w) for w in commands(previous)]
            windows = [same_paths(linux_form(w)) for w in commands(item, windows=True)]
            assert windows == linux, f"{where}: the Windows lines do not say what the Linux lines say:\n{windows}\n{linux}"
        elif item.tag == "text":
            assert item.lines and item.lines[0].startswith("$ "), f"{where}: console output starts with a `$ ` line"
            command, expected = None, []
            for line in [*item.lines, "$ "]:
                if line.startswith("$ "):
                    if command is not None:
                        (words,) = commands(Block(item.line, "bash", [command]))
                        output = reader.run(words, where)
                        if output is not None and compare:
                            matches(expected, output, f"{where} `{command}`")
                    command, expected = line[2:], []
                else:
                    expected.append(line)
        elif item.tag == "csv" and len(item.info.split()) == 2 and item.info.split()[1].endswith(".xlsx"):
            type_into_workbook(root / item.info.split()[1], item)
        elif item.tag == "csv" and len(item.info.split()) == 2:
            (root / item.info.split()[1]).write_text("\n".join(item.lines) + "\n", encoding="utf-8")
        elif item.tag == "toml" and len(item.info.split()) == 2:
            edit_toml(root / item.info.split()[1], item)
        else:
            pytest.fail(f"{where}: a block this test cannot classify (```{item.info}): tag it bash, bat, text, "
                        "or csv/toml with the file it edits")
        previous = item
    return reader


def copy_of_repository(target: Path) -> Path:
    """The repository as a fresh clone has it, without its virtual environment; `.venv/bin/consolidate` is the
    command installed for this test."""
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", "benchmarks")
    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)
    for stale in (target / "outbox").iterdir():
        if stale.name != ".gitkeep":
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    (target / ".venv" / "bin").mkdir(parents=True)
    (target / ".venv" / "bin" / "consolidate").symlink_to(CONSOLIDATE)
    return target


# ------------------------------------------------------------------------------------------ the tests


def test_the_front_door_and_the_test_command_are_as_promised():
    text = README.read_text(encoding="utf-8")
    assert "consolidate run inbox/" in text
    blocks = {"\n".join(b.lines) for b in parse(text) if isinstance(b, Block) and b.tag == "bash"}
    assert FRONT_DOOR in blocks and TEST_COMMAND in blocks
    ci_commands = [part for line in CI.read_text(encoding="utf-8").splitlines()
                   for part in re.sub(r"\s+#.*$", "", line.strip()).split(" && ")]  # .ci/run's commands, in order
    wanted = TEST_COMMAND.split(" && ")
    found = [c for c in ci_commands if c in wanted]
    assert found == wanted, f".ci/run must run the README's test command as it is: {wanted}"


def test_every_block_of_the_readme_runs(tmp_path):
    """The README from the top, as a reader on a fresh clone: install, run, serve, two districts and their province,
    the next period, the history, the exports. Every command worked; every console example is what was printed."""
    root = copy_of_repository(tmp_path / "consolidate")
    with ExitStack() as stack:
        reader = walk(root, stack)
        # what the walk-through promises, beyond each command having worked
        assert reader.dhis2 is not None and len(reader.dhis2.received) == 2
        printed = "\n".join(output for shown, output in reader.ran if "--format dhis2-" in shown)
        for path, kind, body in reader.dhis2.received:
            # the README's query is the one `export` printed for its files (each column's id scheme, issue 24)
            query = path.partition("?")[2]
            assert "dryRun=true" in query and "categoryOptionComboIdScheme=" in query
            assert f"/api/dataValueSets?{query}" in printed, (query, printed)
            name = "dhis2-gia-tri.json" if kind == "application/json" else "dhis2-gia-tri.csv"
            assert body == (root / "xuat" / name).read_bytes()
    province = openpyxl.load_workbook(root / "ket-qua-tinh" / "tong-hop-binh-dinh.xlsx", read_only=True)
    rows = [r[:2] for r in province[FORM1_SHEET].iter_rows(values_only=True)]
    for district, commune in (("Huyện Tuy Phước", "Xã Phước Sơn"), ("Huyện Mẫu", "Xã Mẫu Ba")):  # each under its own
        assert rows.index((None, district)) < [r[1] for r in rows].index(commune) < rows.index((f"Cộng {district}", None))
    assert (root / "ket-qua-2024S2" / "tong-hop-tuy-phuoc.xlsx").is_file()
    assert [c for c, why in reader.skipped if why == BY_CI_REASON] == [
        "python3 -m venv .venv", ".venv/bin/pip install -e .", "python3 -m venv .venv",
        ".venv/bin/pip install -e '.[test]'", ".venv/bin/pytest -q -n auto"]
    assert all(POSTGRES_IN_README in c for c, why in reader.skipped if why != BY_CI_REASON)


def test_a_block_the_test_cannot_classify_fails_it(tmp_path):
    """A future block with no tag, a command nobody runs, or a Windows line saying something else does not slip by."""
    for text in ("```\nconsolidate --help\n```\n", "```bash\nrm -rf inbox/\n```\n", "```python\nprint(1)\n```\n",
                 "Chạy:\n\n    consolidate run inbox/\n", "<!-- readme-test: make-coffee -->\n",
                 "```bash\nconsolidate template --help\n```\n\n```bat\nconsolidate template --out mau\\ --help\n```\n",
                 "```bat\npy -m venv .venv\n```\n", "```toml cau-hinh.toml\nno_such_key = 1\n```\n"):
        (tmp_path / "cau-hinh.toml").write_text("units = \"don-vi.csv\"\n", encoding="utf-8")
        with pytest.raises((pytest.fail.Exception, AssertionError)), ExitStack() as stack:
            walk(tmp_path, stack, text)
    with ExitStack() as stack:  # and the same dispatch passes what it can run
        walk(tmp_path, stack, "```bash\nconsolidate template --help\n```\n\n```bat\nconsolidate template --help\n```\n")


if __name__ == "__main__":  # print each command of the README with what it really prints, to update the examples
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        done = walk(copy_of_repository(Path(folder) / "consolidate"), stack, compare=False)
        for command, output in done.ran:
            print(f"$ {command}\n{output}")
        for command, why in done.skipped:
            print(f"(not run: {command}: {why})")
