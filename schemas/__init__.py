"""Validation rules of the two forms, written as pandera schemas.

Installed as ``consolidate.schemas``. Each check's ``name`` is the stable
problem code it becomes in the error log (see ``consolidate.core.problems``).
"""

from .form1 import form1_schema
from .form2 import form2_schema

__all__ = ["form1_schema", "form2_schema"]
