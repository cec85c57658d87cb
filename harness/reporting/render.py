"""Render report tables: terminal (rich), Markdown, LaTeX and a self-contained HTML page.

Every renderer shows the same table object the same way: group headers for the size groups,
the best value per column in bold, the run's rows emphasised, deltas signed, and each empty or
caveated cell marked with a footnote letter whose text (the reason) follows the table.
"""

from __future__ import annotations

import base64
import html
import string
from dataclasses import dataclass, field
from pathlib import Path

from harness import presentation
from harness.reporting.table import Cell, Row, Table

SUPERSCRIPT = dict(zip(string.ascii_lowercase, "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖqʳˢᵗᵘᵛʷˣʸᶻ"))
EMPTY = presentation.EMPTY


def letters(table: Table) -> dict[str, str]:
    """Footnote text -> its letter (a, b, ..., then a1, b1, ...)."""
    out = {}
    for index, text in enumerate(table.footnotes()):
        letter = string.ascii_lowercase[index % 26]
        out[text] = letter + (str(index // 26) if index >= 26 else "")
    return out


def _sup(letter: str) -> str:
    return "".join(SUPERSCRIPT.get(ch, ch) for ch in letter) if len(letter) == 1 else f"[{letter}]"


@dataclass
class Image:
    title: str
    path: Path
    """PNG file inside the report folder."""


@dataclass
class Section:
    title: str
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


@dataclass
class Document:
    title: str
    metadata: list[tuple[str, str]]
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)


# -- terminal --------------------------------------------------------------------------------


def terminal_table(table: Table):
    """A rich Table; notes and footnotes go in its caption."""
    from rich.table import Table as RichTable
    from rich.text import Text

    marks = letters(table)
    rich = RichTable(title=table.title, title_justify="left", caption_justify="left", show_lines=False)
    last = len(table.columns) - 1
    for position, column in enumerate(table.columns):
        # Numbers stay on one line and whole; the row labels and a closing text column (notes,
        # reasons) wrap, so they give up width first and a number is never squeezed to "…"
        # (presentation.print_table splits the numbers into more tables when even that is too wide).
        wraps = not column.numeric and (position == last or position == 0)
        rich.add_column(
            column.name,
            justify="right" if column.numeric else "left",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
            ratio=1 if wraps and position > 0 else None,
        )
    for index, group in enumerate(table.groups):
        if index:
            rich.add_section()
        if len(table.groups) > 1 or group.titled:
            rich.add_row(Text(group.name, style="bold underline"), *[""] * (len(table.columns) - 1))
        for row in group.rows:
            cells = []
            for position, cell in enumerate(row.cells):
                text = cell.display or EMPTY
                if cell.footnote:
                    text += _sup(marks[cell.footnote])
                style = ""
                if cell.best:
                    style = "bold"
                if row.kind == "delta" and cell.sign:
                    style = "green" if cell.sign > 0 else "red"
                if not cell.display:
                    style = "dim"
                if position == 0 and row.kind in ("run", "strict"):
                    style = "bold cyan" if row.kind == "run" else "cyan"
                cells.append(Text(text, style=style))
            rich.add_row(*cells)
    caption = [f"{_sup(marks[text])} {text}" for text in marks]
    caption += table.notes
    if caption:
        rich.caption = Text("\n".join(caption))  # plain text: a footnote mark like [a1] is no markup tag
    return rich


def print_terminal(tables: list[Table], console=None) -> None:
    console = console or presentation.console()
    for table in tables:
        presentation.print_table(terminal_table(table), console)
        console.print()


# -- Markdown --------------------------------------------------------------------------------


def _md_escape(text) -> str:
    """Text for Markdown: HTML in it shown as text, never rendered (a run name, a note, a label)."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def markdown_table(table: Table) -> str:
    marks = letters(table)
    lines = [f"**{_md_escape(table.title)}**", ""]
    if table.caption:
        lines += [_md_escape(table.caption), ""]
    lines.append("| " + " | ".join(_md_escape(c.name) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.numeric else ":---" for c in table.columns) + "|")
    show_groups = len(table.groups) > 1 or (table.groups and table.groups[0].titled)
    for group in table.groups:
        if show_groups:
            lines.append(f"| **{_md_escape(group.name)}** |" + " |" * (len(table.columns) - 1))
        for row in group.rows:
            lines.append("| " + " | ".join(_md_cell(row, i, cell, marks) for i, cell in enumerate(row.cells)) + " |")
    notes = [f"{_sup(marks[text])} {text}" for text in marks] + table.notes
    if notes:
        lines.append("")
        lines += [f"{_md_escape(note)}  " for note in notes]
    return "\n".join(lines)


def _md_cell(row: Row, position: int, cell: Cell, marks: dict[str, str]) -> str:
    text = _md_escape(cell.display) if cell.display else EMPTY
    if cell.best:
        text = f"**{text}**"
    if position == 0 and row.kind in ("run", "strict"):
        text = f"*{text}*"
    if cell.footnote:
        text += _sup(marks[cell.footnote])
    return text


def markdown_document(document: Document, image_prefix: str = "") -> str:
    parts = [f"# {_md_escape(document.title)}", ""]
    parts += [f"- **{_md_escape(key)}**: {_md_escape(value)}" for key, value in document.metadata]
    parts.append("")
    for section in document.sections:
        parts += [f"## {_md_escape(section.title)}", ""]
        parts += [*map(_md_escape, section.text), ""] if section.text else []
        for table in section.tables:
            parts += [markdown_table(table), ""]
        for image in section.images:
            parts += [f"![{_md_escape(image.title)}]({image_prefix}{image.path.name})", ""]
    if document.warnings:
        parts += ["## Warnings", ""]
        parts += [f"- {_md_escape(w)}" for w in document.warnings]
        parts.append("")
    return "\n".join(parts)


# -- LaTeX -----------------------------------------------------------------------------------

_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "Δ": r"$\Delta$",
    "−": r"$-$",
    "±": r"$\pm$",
    "†": r"\textsuperscript{\dag}",
    "·": r"\textperiodcentered{}",
    "–": "--",
    "∩": r"$\cap$",
    "→": r"$\rightarrow$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "‡": r"\ddag{}",
}


def latex_escape(text: str) -> str:
    # Anything else outside ASCII (e.g. a model name in another script) is kept; pdflatex users
    # may need a font package, xelatex/lualatex take it as it is.
    return "".join(_LATEX.get(ch, ch) for ch in text)


def latex_table(table: Table) -> str:
    marks = letters(table)
    spec = "".join("r" if c.numeric else "l" for c in table.columns)
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\small",
        rf"\caption{{{latex_escape(table.title)}}}",
        rf"\label{{tab:{table.id}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(c.name) for c in table.columns) + r" \\",
        r"\midrule",
    ]
    show_groups = len(table.groups) > 1 or (table.groups and table.groups[0].titled)
    for index, group in enumerate(table.groups):
        if index:
            lines.append(r"\midrule")
        if show_groups:
            lines.append(rf"\multicolumn{{{len(table.columns)}}}{{l}}{{\textit{{{latex_escape(group.name)}}}}} \\")
        for row in group.rows:
            cells = []
            for position, cell in enumerate(row.cells):
                text = latex_escape(cell.display) if cell.display else "--"
                if cell.best:
                    text = rf"\textbf{{{text}}}"
                if position == 0 and row.kind in ("run", "strict"):
                    text = rf"\textit{{{text}}}"
                if cell.footnote:
                    text += rf"\textsuperscript{{{marks[cell.footnote]}}}"
                cells.append(text)
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = [rf"\textsuperscript{{{marks[text]}}} {latex_escape(text)}" for text in marks]
    notes += [latex_escape(note) for note in table.notes]
    if notes:
        lines += [r"\par\vspace{2pt}", r"\begin{minipage}{\linewidth}\footnotesize"]
        lines += [note + r"\\" for note in notes]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    return "\n".join(lines)


def latex_document(document: Document) -> str:
    parts = [
        r"\documentclass{article}",
        r"\usepackage[margin=1.5cm,landscape]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\usepackage[T1]{fontenc}",
        r"\begin{document}",
        rf"\section*{{{latex_escape(document.title)}}}",
        r"\begin{itemize}",
    ]
    parts += [rf"\item \textbf{{{latex_escape(k)}}}: {latex_escape(v)}" for k, v in document.metadata]
    parts.append(r"\end{itemize}")
    for section in document.sections:
        parts.append(rf"\subsection*{{{latex_escape(section.title)}}}")
        parts += [latex_escape(t) + "\n" for t in section.text]
        for table in section.tables:
            parts += [latex_table(table), r"\clearpage" if len(table.columns) > 14 else ""]
        for image in section.images:
            parts += [
                r"\begin{figure}[ht]",
                r"\centering",
                rf"\includegraphics[width=0.9\linewidth]{{{image.path.name}}}",
                rf"\caption{{{latex_escape(image.title)}}}",
                r"\end{figure}",
            ]
    if document.warnings:
        parts += [r"\subsection*{Warnings}", r"\begin{itemize}"]
        parts += [rf"\item {latex_escape(w)}" for w in document.warnings]
        parts.append(r"\end{itemize}")
    parts.append(r"\end{document}")
    return "\n".join(p for p in parts if p is not None) + "\n"


# -- HTML ------------------------------------------------------------------------------------

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1400px; color: #1f2328; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; border-bottom: 2px solid #d0d7de; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.group td { background: #eef1f4; font-weight: 600; font-style: italic; }
tr.run td { background: #ddf4ff; }
tr.strict td { background: #f0f8ff; color: #57606a; }
tr.delta td { color: #57606a; font-size: 0.95em; }
td.best { font-weight: 700; }
td.up { color: #1a7f37; } td.down { color: #cf222e; }
td.empty { color: #8c959f; }
sup { font-size: 0.75em; color: #9a6700; }
.notes { font-size: 0.85em; color: #57606a; margin: 0 0 1.5em 0; }
.notes p { margin: 0.15em 0; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eaeef2; }
.warnings li { color: #9a6700; }
"""


def html_table(table: Table) -> str:
    marks = letters(table)
    esc = html.escape
    out = [f'<table id="{esc(table.id)}">', f"<caption>{esc(table.title)}</caption>", "<thead><tr>"]
    for column in table.columns:
        title = f' title="{esc(column.description)}"' if column.description else ""
        out.append(f'<th class="{"num" if column.numeric else "text"}"{title}>{esc(column.name)}</th>')
    out.append("</tr></thead><tbody>")
    show_groups = len(table.groups) > 1 or (table.groups and table.groups[0].titled)
    for group in table.groups:
        if show_groups:
            out.append(f'<tr class="group"><td colspan="{len(table.columns)}">{esc(group.name)}</td></tr>')
        for row in group.rows:
            title = f' title="{esc(row.description)}"' if row.description else ""
            out.append(f'<tr class="{row.kind}"{title}>')
            for position, cell in enumerate(row.cells):
                classes = ["num" if table.columns[position].numeric else "text"]
                if cell.best:
                    classes.append("best")
                if row.kind == "delta" and cell.sign:
                    classes.append("up" if cell.sign > 0 else "down")
                if not cell.display:
                    classes.append("empty")
                tip = "; ".join(filter(None, [cell.description, cell.footnote]))
                tip_attr = f' title="{esc(tip)}"' if tip else ""
                text = esc(cell.display) if cell.display else EMPTY
                if cell.footnote:
                    text += f"<sup>{esc(marks[cell.footnote])}</sup>"
                out.append(f'<td class="{" ".join(classes)}"{tip_attr}>{text}</td>')
            out.append("</tr>")
    out.append("</tbody></table>")
    notes = [f"<p><sup>{esc(marks[text])}</sup> {esc(text)}</p>" for text in marks]
    notes += [f"<p>{esc(note)}</p>" for note in table.notes]
    if table.caption:
        notes.insert(0, f"<p>{esc(table.caption)}</p>")
    if notes:
        out.append('<div class="notes">' + "".join(notes) + "</div>")
    return "\n".join(out)


def html_document(document: Document) -> str:
    """One file: inline CSS, PNG plots embedded as base64, no external resources."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(document.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{esc(document.title)}</h1>",
        '<dl class="meta">',
    ]
    out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in document.metadata]
    out.append("</dl>")
    for section in document.sections:
        out.append(f"<h2>{esc(section.title)}</h2>")
        out += [f"<p>{esc(t)}</p>" for t in section.text]
        for table in section.tables:
            out.append(html_table(table))
        for image in section.images:
            data = base64.b64encode(image.path.read_bytes()).decode("ascii")
            out.append(
                f'<figure><img alt="{esc(image.title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(image.title)}</figcaption></figure>"
            )
    if document.warnings:
        out.append('<h2>Warnings</h2><ul class="warnings">')
        out += [f"<li>{esc(w)}</li>" for w in document.warnings]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
