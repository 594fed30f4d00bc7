"""nbformat, the kit's one reader and writer of notebooks, imported without its slow extra.

jsonschema, which nbformat validates with, imports `rfc3987_syntax` when it is installed (it is:
nbgrader's jupyter-events asks for jsonschema's format extras), and that module compiles a Lark
grammar as it is imported: about 1.8 s of CPU, more than half the start-up of `facekit grade`,
for the "iri" string format, which the notebook schema never uses. It is hidden while jsonschema
is first imported (jsonschema then goes without that one format checker, as it does wherever the
extra is not installed); any later import of `rfc3987_syntax` works as usual.
"""

import sys

_SLOW_EXTRA = "rfc3987_syntax"
_hide = "jsonschema" not in sys.modules and _SLOW_EXTRA not in sys.modules
if _hide:
    sys.modules[_SLOW_EXTRA] = None  # its import raises ImportError, which jsonschema expects
try:
    import nbformat
finally:
    if _hide:
        del sys.modules[_SLOW_EXTRA]

__all__ = ["nbformat"]
