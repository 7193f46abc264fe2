"""Rule expressions of a report definition: a small, safe language, parsed once into a tree.

A definition may come from anywhere (a province's e-mail, a copied file), so its rules are never
handed to ``eval``. Python's own parser reads the text (``ast``) and an allow-list keeps only what a
validation rule needs, as DHIS2 writes them (left side, operator, right side):

- names: the keys of the form's fields (``total``), and in a grid ``row.field`` for one cell;
- numbers, ``+ - * /``, parentheses, ``sum(a, b, …)`` and ``abs(x)``;
- one comparison (``== != < <= > >=``) or a range ``0 <= rate <= 100``.

Anything else (a string, a subscript, an attribute, a lambda, ``**``, a call to anything but sum and
abs, a name that is no key) is refused with a reason in Vietnamese (``RuleError``). The tree then
evaluates on plain numbers (``evaluate``; a blank operand gives None: the rule is skipped) and
renders itself in Vietnamese with the fields' labels ("Tổng số = Thuộc biên chế + Cử đến + BCCI").
The vectorised twin that runs over a whole frame is ``consolidate.checks.compile``.

>>> rule = parse_rule("total == own + seconded + bcci", {"total": "Tổng số", "own": "Biên chế",
...                   "seconded": "Cử đến", "bcci": "BCCI"})
>>> rule.render()
'Tổng số = Biên chế + Cử đến + BCCI'
>>> rule.holds({"total": 7.0, "own": 6.0, "seconded": 0.0, "bcci": 0.0})
False
>>> rule.holds({"total": 7.0, "own": None, "seconded": 0.0, "bcci": 0.0}) is None  # blank: skipped
True
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .numbers import format_number

MAX_TEXT = 2_000  # characters of one expression: a rule is a line; more is a mistake or an attack
MAX_NODES = 400  # nodes of one expression's tree
MAX_NUMBER = 1e15  # a literal beyond this is no figure of a report (and 1e999 is infinity)
FUNCTIONS = ("sum", "abs")
SKIP, ZERO = "skip", "zero"  # what a blank operand does: skip the rule (DHIS2's default), or count as 0
MISSING = (SKIP, ZERO)
EPSILON = 1e-9  # float noise: 0.1 + 0.2 == 0.3 for a report

_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_SHOWN = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥", "+": "+", "-": "−", "*": "×", "/": "/"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_UPWARD, _DOWNWARD = {"<", "<="}, {">", ">="}  # a range runs one way: 0 <= x <= 100, or 100 >= x >= 0
# What a construct the language leaves out is called, for the refusal.
_REFUSED = {
    ast.Constant: "chuỗi chữ hoặc giá trị không phải số",
    ast.Subscript: "phép lấy phần tử […]",
    ast.Lambda: "hàm lambda",
    ast.BoolOp: "phép logic and/or (mỗi quy tắc chỉ một phép so sánh; tách thành nhiều quy tắc)",
    ast.IfExp: "biểu thức if … else",
    ast.ListComp: "biểu thức danh sách",
    ast.GeneratorExp: "biểu thức sinh phần tử",
    ast.List: "danh sách […]",
    ast.Tuple: "bộ giá trị (…, …)",
    ast.Dict: "bảng {…}",
    ast.Set: "tập hợp {…}",
    ast.JoinedStr: "chuỗi f-string",
    ast.NamedExpr: "phép gán :=",
    ast.Starred: "dấu * trước tham số",
    ast.Await: "await",
    ast.Yield: "yield",
}
_OPERATORS = {
    ast.Pow: "lũy thừa **", ast.FloorDiv: "chia lấy nguyên //", ast.Mod: "chia lấy dư %", ast.MatMult: "phép @",
    ast.BitAnd: "phép &", ast.BitOr: "phép |", ast.BitXor: "phép ^", ast.LShift: "phép <<", ast.RShift: "phép >>",
    ast.Not: "phép not", ast.Invert: "phép ~", ast.In: "phép in", ast.NotIn: "phép not in", ast.Is: "phép is",
    ast.IsNot: "phép is not",
}


class RuleError(ValueError):
    """An expression the language refuses; ``reason`` is the Vietnamese why, for the definition's message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Values = Mapping[str, "float | None"]


@dataclass(frozen=True)
class Number:
    value: float

    def evaluate(self, values: Values) -> float | None:
        return self.value

    def names(self) -> tuple[str, ...]:
        return ()

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        return format_number(self.value, decimals=6)


@dataclass(frozen=True)
class Name:
    key: str  # a field key, or "row.field" for one cell of a grid

    def evaluate(self, values: Values) -> float | None:
        return values.get(self.key)

    def names(self) -> tuple[str, ...]:
        return (self.key,)

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        return (labels or {}).get(self.key, self.key)


@dataclass(frozen=True)
class Negative:
    operand: Expr

    def evaluate(self, values: Values) -> float | None:
        value = self.operand.evaluate(values)
        return None if value is None else -value

    def names(self) -> tuple[str, ...]:
        return self.operand.names()

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        inner = self.operand.render(labels)
        return f"−({inner})" if _precedence(self.operand) is not None else f"−{inner}"


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Expr
    right: Expr

    def evaluate(self, values: Values) -> float | None:
        a, b = self.left.evaluate(values), self.right.evaluate(values)
        if a is None or b is None:
            return None
        if self.op == "+":
            return a + b
        if self.op == "-":
            return a - b
        if self.op == "*":
            return a * b
        return a / b if b else None  # a share of nothing is no figure: the rule is skipped

    def names(self) -> tuple[str, ...]:
        return (*self.left.names(), *self.right.names())

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        def side(expr: Expr, right: bool) -> str:
            text = expr.render(labels)
            theirs = _precedence(expr)
            if theirs is not None:
                mine = _PRECEDENCE[self.op]
                if theirs < mine or (right and theirs == mine and self.op in "-/"):
                    return f"({text})"
            return text

        return f"{side(self.left, False)} {_SHOWN[self.op]} {side(self.right, True)}"


@dataclass(frozen=True)
class Call:
    function: str  # sum | abs
    args: tuple[Expr, ...]

    def evaluate(self, values: Values) -> float | None:
        found = [a.evaluate(values) for a in self.args]
        if any(v is None for v in found):
            return None
        return math.fsum(found) if self.function == "sum" else abs(found[0])  # type: ignore[arg-type]

    def names(self) -> tuple[str, ...]:
        return tuple(n for a in self.args for n in a.names())

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        inner = [a.render(labels) for a in self.args]
        if self.function == "abs":
            return f"|{inner[0]}|"
        return " + ".join(inner)


Expr = Number | Name | Negative | Binary | Call


def _precedence(expr: Expr) -> int | None:
    """How tightly a rendered operand binds, where it may need parentheses (a sum of several is a +)."""
    if isinstance(expr, Binary):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, Call) and expr.function == "sum" and len(expr.args) > 1:
        return _PRECEDENCE["+"]
    return None


@dataclass(frozen=True)
class Comparison:
    """A rule's test: operands joined by one operator, or two running one way (a range)."""

    operands: tuple[Expr, ...]
    ops: tuple[str, ...]

    def names(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for expr in self.operands:
            seen.update(dict.fromkeys(expr.names()))
        return tuple(seen)

    def holds(self, values: Values, tolerance: float = 0.0, missing: str = SKIP) -> bool | None:
        """Whether the rule holds on these values; None when it does not apply (a blank operand with
        ``missing = "skip"``, or a division by zero)."""
        if missing == ZERO:
            values = {k: (0.0 if values.get(k) is None else values[k]) for k in self.names()}
        sides = [e.evaluate(values) for e in self.operands]
        if any(s is None for s in sides):
            return None
        return all(compare(op, a, b, tolerance) for op, a, b in zip(self.ops, sides, sides[1:]))  # type: ignore[arg-type]

    def render(self, labels: Mapping[str, str] | None = None) -> str:
        parts = [self.operands[0].render(labels)]
        for op, expr in zip(self.ops, self.operands[1:]):
            parts += [_SHOWN[op], expr.render(labels)]
        return " ".join(parts)


def compare(op: str, a, b, tolerance: float = 0.0):  # noqa: ANN001, ANN201 - numbers, or whole pandas columns
    """``a op b`` with a tolerance (rates rounded by hand: 33,3 + 66,7 may be typed as 100,1). Written with
    ``abs`` and operators only, so the vectorised checks (checks/compile.py) compare whole columns with it."""
    slack = tolerance + EPSILON
    if op == "==":
        return abs(a - b) <= slack
    if op == "!=":
        return abs(a - b) > slack
    if op == "<":
        return a - b < tolerance - EPSILON
    if op == "<=":
        return a - b <= slack
    if op == ">":
        return b - a < tolerance - EPSILON
    return b - a <= slack


# Parsing -----------------------------------------------------------------------------------------


def parse_rule(text: str, names: Mapping[str, str]) -> Comparison:
    """A rule's ``check``: one comparison (or a range) over the keys in ``names`` (key → label)."""
    tree = _parse(text)
    if not isinstance(tree, (ast.Compare, ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute)):
        _expr(tree, names)  # says what the construct is (and/or, if … else, lambda) and refuses it
    if not isinstance(tree, ast.Compare):
        raise RuleError("quy tắc phải là một phép so sánh, ví dụ “tong == a + b” hoặc “0 <= ty_le <= 100”; "
                        "ở đây không có dấu so sánh (==, !=, <, <=, >, >=).")
    ops = tuple(_comparison_op(op) for op in tree.ops)
    if len(ops) > 2:
        raise RuleError("mỗi quy tắc chỉ một phép so sánh, hoặc một khoảng như “0 <= ty_le <= 100”; "
                        "tách phần còn lại thành quy tắc khác.")
    if len(ops) == 2 and not (set(ops) <= _UPWARD or set(ops) <= _DOWNWARD):
        raise RuleError("hai phép so sánh liền nhau chỉ dùng cho một khoảng cùng chiều, ví dụ “0 <= ty_le <= 100”; "
                        "tách thành hai quy tắc.")
    operands = tuple(_expr(node, names) for node in (tree.left, *tree.comparators))
    return Comparison(operands, ops)


def parse_value(text: str, names: Mapping[str, str]) -> Expr:
    """An arithmetic expression with no comparison: a formula, or a value shown in a message."""
    tree = _parse(text)
    if isinstance(tree, ast.Compare):
        raise RuleError("ở đây cần một phép tính (ví dụ “a + b”), không phải một phép so sánh.")
    return _expr(tree, names)


def _parse(text: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise RuleError("biểu thức để trống.")
    if len(text) > MAX_TEXT:
        raise RuleError(f"biểu thức dài quá {MAX_TEXT} ký tự.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" (ở ký tự thứ {exc.offset})" if exc.offset else ""
        raise RuleError(f"không đọc được biểu thức{where}: kiểm tra dấu ngoặc, dấu phép tính và tên khóa "
                        "(chỉ chữ không dấu, số và “_”).") from None
    except (ValueError, RecursionError, MemoryError):  # a 5,000-digit literal; parentheses nested too deep
        raise RuleError("biểu thức quá phức tạp hoặc có số quá lớn.") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise RuleError(f"biểu thức có quá nhiều thành phần (hơn {MAX_NODES}); tách thành nhiều quy tắc.")
    return tree.body


def _comparison_op(op: ast.cmpop) -> str:
    if type(op) in _COMPARE:
        return _COMPARE[type(op)]
    raise RuleError(f"không dùng được {_OPERATORS.get(type(op), 'phép so sánh này')}; "
                    "chỉ dùng ==, !=, <, <=, >, >=.")


def _expr(node: ast.expr, names: Mapping[str, str]) -> Expr:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = float(node.value)
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise RuleError("có số quá lớn; một quy tắc chỉ dùng số không quá một triệu tỷ (10^15).")
        return Number(value)
    if isinstance(node, ast.Name):
        return Name(_known(node.id, names))
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and not node.attr.startswith("_"):
            return Name(_known(f"{node.value.id}.{node.attr}", names))
        raise RuleError("chỉ dùng được “dòng.cột” để chỉ một ô của biểu dạng lưới (ví dụ “tong.nhan_tong”); "
                        "không dùng thuộc tính nào khác.")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return Negative(_expr(node.operand, names))
        if isinstance(node.op, ast.UAdd):
            return _expr(node.operand, names)
        raise RuleError(f"không dùng được {_OPERATORS.get(type(node.op), 'phép này')}; chỉ dùng + − × /.")
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITHMETIC:
            raise RuleError(f"không dùng được {_OPERATORS.get(type(node.op), 'phép này')}; chỉ dùng + - * / và ngoặc.")
        return Binary(_ARITHMETIC[type(node.op)], _expr(node.left, names), _expr(node.right, names))
    if isinstance(node, ast.Call):
        return _call(node, names)
    if isinstance(node, ast.Compare):
        raise RuleError("mỗi quy tắc chỉ một phép so sánh; không đặt phép so sánh trong phép tính.")
    what = next((label for kind, label in _REFUSED.items() if isinstance(node, kind)), "cấu trúc này")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        what = f"chuỗi chữ “{node.value[:40]}”"
    raise RuleError(f"không dùng được {what}; quy tắc chỉ gồm tên khóa, số, + - * /, ngoặc, sum(…) và abs(…).")


def _call(node: ast.Call, names: Mapping[str, str]) -> Call:
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        shown = ast.unparse(node.func)[:40]  # text only: nothing is run
        raise RuleError(f"không dùng được hàm {shown}; chỉ dùng sum(…) và abs(…).")
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise RuleError(f"hàm {node.func.id}(…) chỉ nhận các giá trị cách nhau bằng dấu phẩy.")
    if node.func.id == "abs" and len(node.args) != 1:
        raise RuleError("hàm abs(…) nhận đúng một giá trị, ví dụ abs(a - b).")
    if not node.args:
        raise RuleError("hàm sum(…) cần ít nhất một giá trị, ví dụ sum(a, b, c).")
    return Call(node.func.id, tuple(_expr(a, names) for a in node.args))


def _known(key: str, names: Mapping[str, str]) -> str:
    if key in names:
        return key
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    hint = f" Có phải “{close[0]}”?" if close else ""
    if "." in key:
        raise RuleError(f"không có ô “{key}” (dòng.cột) trong biểu này.{hint}")
    raise RuleError(f"không có khóa “{key}” trong biểu này: quy tắc chỉ dùng khóa của các trường số.{hint}")


# Messages ------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Template:
    """A message with ``{expression}`` placeholders, e.g. "Tổng số {total} ≠ {a + b}": each placeholder
    is parsed like a rule's side, so a typo in a message is refused with the definition, not at a run."""

    parts: tuple[str | Expr, ...]

    def render(self, values: Values) -> str:
        out = []
        for part in self.parts:
            out.append(part if isinstance(part, str) else format_number(part.evaluate(values)))
        return "".join(out)

    def __bool__(self) -> bool:
        return bool(self.parts)


def parse_template(text: str, names: Mapping[str, str]) -> Template:
    """``{{`` and ``}}`` stand for a brace itself."""
    if not text:
        return Template(())
    parts: list[str | Expr] = []
    escaped = text.replace("{{", "\x00").replace("}}", "\x01")
    pos = 0
    for m in _PLACEHOLDER.finditer(escaped):
        parts.append(escaped[pos:m.start()])
        try:
            parts.append(parse_value(m.group(1), names))
        except RuleError as exc:
            raise RuleError(f"chỗ “{{{m.group(1)}}}” trong câu thông báo: {exc.reason}") from None
        pos = m.end()
    parts.append(escaped[pos:])
    if any(isinstance(p, str) and ("{" in p or "}" in p) for p in parts):
        raise RuleError("câu thông báo có dấu “{” hoặc “}” không thành cặp; viết “{{” hoặc “}}” nếu muốn in dấu ngoặc.")
    restored = [p.replace("\x00", "{").replace("\x01", "}") if isinstance(p, str) else p for p in parts]
    return Template(tuple(p for p in restored if p != ""))
