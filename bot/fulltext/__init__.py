"""A paper's full text from arXiv: fetched, extracted to sections, budgeted for a prompt.

Why this package exists: notes written from an abstract alone are vague about
methods and results, and questions about a paper need its body. arXiv serves
an HTML rendering (LaTeXML: real sections and figure captions) for most new
papers and a PDF for all of them. The pieces:

- `document`: the extracted text as sections, and how it is stored (zlib).
- `html`: LaTeXML HTML to sections, and the key figure (lxml).
- `pdf`: PDF to sections by heading heuristics (pypdf).
- `sections`: the section-aware budget that cuts a paper to a prompt's size.
- `fetch`: the polite fetcher (HTML first, else the PDF) and its runs.
"""
