"""GEM's Script Console takes JavaScript: `await gem.command({device: 1, action: 'x'});`.

The console is Python, so an object literal's bare keys (and `true`, `false`, `null`) are
rewritten to Python before it compiles a line. A name the console defines is left alone, so
a Python dict keyed by a variable still means what Python says.
"""

from __future__ import annotations

import io
import keyword
import tokenize
from collections.abc import Container

_CONSTANTS = {"true": "True", "false": "False", "null": "None", "undefined": "None"}


def as_python(source: str, defined: Container[str]) -> str:
    """`source` with JavaScript object keys quoted and JavaScript constants as Python's;
    unchanged when it does not tokenize (an unfinished line: the console asks for more)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    # A comprehension's keys are its own loop names, defined nowhere else: keep them.
    comprehension = any(t.type == tokenize.NAME and t.string == "for" for t in tokens)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    brackets: list[str] = []
    previous = ""
    for index, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            brackets.append(token.string)
        elif token.type == tokenize.OP and token.string in ")]}" and brackets:
            brackets.pop()
        elif token.type == tokenize.NAME and token.string not in defined:
            following = _next_significant(tokens, index)
            is_key = brackets[-1:] == ["{"] and previous in ("{", ",") and following == ":"
            if is_key and not comprehension and not keyword.iskeyword(token.string):
                edits.append((token.start, token.end, repr(token.string)))
            elif token.string in _CONSTANTS:
                edits.append((token.start, token.end, _CONSTANTS[token.string]))
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            previous = token.string
    return _apply(source, edits)


def _next_significant(tokens: list[tokenize.TokenInfo], index: int) -> str:
    for token in tokens[index + 1 :]:
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            return token.string
    return ""


def _apply(source: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> str:
    lines = source.splitlines(keepends=True)
    # From the last edit back, so that earlier positions still hold.
    for (row, start), (_, end), text in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    return "".join(lines)
