"""BibTeX field text to plain Unicode and back: the two directions kept side by side so they stay inverse.

Why this exists: a BibTeX value is LaTeX. Zotero escapes what LaTeX would
read (`\\%`, `\\&`, `\\$`, `{\\textbackslash}`, `{\\textasciicircum}`, `\\{ \\}`),
protects capitals with braces (`{MiMo}: {Unlocking} the ...`), and older
exports write accents as commands (`Sch{\\"o}lkopf`). arXiv's own metadata
keeps LaTeX as written (`O$^2$-Searcher`, `\\textit{atomic}`), so decoding
Zotero's escapes gives back arXiv's text, which is what paperbot stores.

`decode_latex`: accents and special letters become Unicode (the snapshot
importer's rule for author names, `latex_accents`); the
escapes above become their characters; protective braces go; a `~` tie is a
space; a command paperbot does not know stays as written, with its braced
argument (`\\textit{x}`); math between `$...$` is kept verbatim.

`escape_latex`: the inverse for any stored text, so that
`decode_latex(escape_latex(text)) == text` for every text `bot.text.normalize`
produces (a property test checks it): the ten LaTeX specials are escaped,
braces always as `{\\textbraceleft}`/`{\\textbraceright}` so the braces BibTeX
counts stay balanced whatever the text holds.
"""

from __future__ import annotations

import re

from bot.text import normalize, protect_entities

# Text commands with a one-character meaning: what Zotero and BibTeX styles write for specials.
_TEXT_COMMANDS = {
    "textbackslash": "\\", "textasciicircum": "^", "textasciitilde": "~", "textbraceleft": "{",
    "textbraceright": "}", "textless": "<", "textgreater": ">", "textbar": "|", "textunderscore": "_",
    "textdollar": "$", "textquotedbl": '"', "textendash": "–", "textemdash": "—", "textquoteright": "’",
    "textquoteleft": "‘", "ldots": "…", "dots": "…", "textperiodcentered": "·", "textregistered": "®",
    "texttrademark": "™", "textcopyright": "©", "textdegree": "°", "textsection": "§",
}  # fmt: skip
_ESCAPED = frozenset("{}%&$#_ ,;")  # `\%` is `%`; `\,` and `\;` are thin spaces
_WORD = re.compile(r"[A-Za-z]+")
_ESCAPES = {
    "\\": "{\\textbackslash}", "{": "{\\textbraceleft}", "}": "{\\textbraceright}", "^": "{\\textasciicircum}",
    "~": "{\\textasciitilde}", "%": "\\%", "&": "\\&", "$": "\\$", "#": "\\#", "_": "\\_",
}  # fmt: skip
_SPECIAL = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")


# LaTeX accent commands -> Unicode combining marks, so `Bal\'azs` reads Balázs, as the API spells it.
_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
    "r": "\u030a", "b": "\u0331", "d": "\u0323", "t": "\u0361",
}  # fmt: skip
# Letter-named accents need a brace or space after them, or `\vec` would lose its v. A space after the
# accented letter is the text's own (`Ji\v{r}\'i Matas`), taken only with the brace it leads to.
_LATEX_ACCENT = re.compile(r"""\{?\\(["'`^~=.]|[uvHckrbdt](?=[\s{]))\s*\{?\s*(\\[ij](?![A-Za-z])|[A-Za-z])(?:\s*\})?\}?""")
_LATEX_LETTERS = {
    "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ",
}  # fmt: skip
_LATEX_LETTER = re.compile(r"\{?\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![A-Za-z])\s*\}?")


def latex_accents(text: str) -> str:
    """Only the accent commands and special letters as Unicode (with their own braces); other braces stay."""
    text = _LATEX_ACCENT.sub(_accented, text)
    return _LATEX_LETTER.sub(lambda m: _LATEX_LETTERS[m.group(1)], text)


def _accented(match: re.Match[str]) -> str:
    letter = match.group(2)
    if letter.startswith("\\"):
        letter = letter[1]  # \'\i is an accented dotless i: í
    return letter + _ACCENTS[match.group(1)]


def decode_latex(text: str) -> str:
    """A BibTeX value as the one line of Unicode paperbot stores (see the module docstring)."""
    if "\\" in text:
        text = latex_accents(text)
    out: list[str] = []
    kept: list[bool] = []  # for each open brace: is it an argument of a kept command (and so written out)?
    argument_next = False
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\\":
            i, argument_next = _command(text, i, out)
            continue
        if char == "{":
            kept.append(argument_next)
            if argument_next:
                out.append("{")
        elif char == "}":
            if kept and kept.pop():
                out.append("}")
        elif char == "$":
            close = _math_end(text, i)
            if close is not None:
                out.append(text[i : close + 1])
                i, argument_next = close + 1, False
                continue
            out.append("$")
        elif char == "~":
            out.append(" ")
        else:
            out.append(char)
        argument_next = False
        i += 1
    return normalize("".join(out))


def _command(text: str, i: int, out: list[str]) -> tuple[int, bool]:
    """Read the command at `text[i]` (a backslash) into `out`; (next index, whether a `{` next is its argument)."""
    word = _WORD.match(text, i + 1)
    if word is None:
        if i + 1 < len(text) and text[i + 1] in _ESCAPED:
            out.append(" " if text[i + 1] in " ,;" else text[i + 1])
            return i + 2, False
        if text.startswith("\\\\", i):  # a forced line break
            out.append(" ")
            return i + 2, False
        out.append("\\")
        return i + 1, False
    name, after = word.group(), word.end()
    while after < len(text) and text[after] == " ":  # TeX ends a command word at the spaces after it
        after += 1
    if name in _TEXT_COMMANDS:
        out.append(_TEXT_COMMANDS[name])
        return (after + 2 if text.startswith("{}", after) else after), False
    out.append("\\" + name + (" " if after > word.end() and text[after : after + 1] != "{" else ""))
    return after, True


def _math_end(text: str, start: int) -> int | None:
    """The index of the `$` closing the math that opens at `start`, if it is closed."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "$":
            return i if i > start + 1 else None
        i += 1
    return None


def escape_latex(text: str) -> str:
    """Stored text as a BibTeX value that `decode_latex` reads back unchanged (an entity-like `&lt;` included)."""
    return _SPECIAL.sub(lambda match: _ESCAPES[match.group()], protect_entities(text))
