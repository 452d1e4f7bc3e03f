"""PDF documents of a case: the signed commitment and the approval decision (决定书).

Chinese text uses reportlab's built-in CID font STSong-Light (no font files needed).
"""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from plugin import clock

FONT = "STSong-Light"
_registered = False


def _styles():
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    body = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=18, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=TA_CENTER,
                                spaceAfter=6 * mm),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=12),
    }


def _para(text: str, style) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _build(title: str, lines: list[tuple[str, str]], meta_title: str) -> bytes:
    styles = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=22 * mm, rightMargin=22 * mm, topMargin=22 * mm,
                            bottomMargin=20 * mm, title=meta_title, author="信易批", creator="xinyipi")
    story = [_para(title, styles["title"])]
    for style, text in lines:
        story.append(_para(text, styles[style]) if text else Spacer(1, 4 * mm))
    doc.build(story)
    return buf.getvalue()


def commitment_pdf(application, commitment) -> bytes:
    """The signed commitment: its full text, who signed, when, and the SHA-256 of the text."""
    text_lines = commitment.text.split("\n")
    title, body = text_lines[0], text_lines[1:]
    signed = clock.local(commitment.signed_at)
    lines = [("body", line) for line in body]
    lines += [("body", ""), ("small", "—— 电子签署记录 ——"),
              ("small", f"办件编号：{application.number}"),
              ("small", f"签署人：{commitment.signer_name}（{commitment.signer_code}）"),
              ("small", f"签署时间：{signed:%Y-%m-%d %H:%M:%S %z}"),
              ("small", f"承诺书全文 SHA-256：{commitment.text_sha256}")]
    return _build(title, lines, f"{title} {application.number}")


def decision_number(application) -> str:
    year = (application.decided_at or application.submitted_at).year
    return f"信易批准字〔{year}〕{application.number}号"


def decision_pdf(application, opinion: str | None = None, path_label: str | None = None) -> bytes:
    """The approval decision (准予许可决定书) of an approved case."""
    subject, matter = application.subject, application.matter
    decided = clock.local(application.decided_at or application.updated_at)
    id_label = "身份证号码" if subject.kind == "person" else "统一社会信用代码"
    lines = [
        ("body", f"决定书编号：{decision_number(application)}"),
        ("body", f"办件编号：{application.number}"),
        ("body", ""),
        ("body", f"申请人：{subject.name}"),
        ("body", f"{id_label}：{subject.code}"),
        ("body", f"申请事项：{matter.name}（事项编码 {matter.code}）"),
        ("body", ""),
        ("body", f"{subject.name}：你（单位）于 {application.submitted_at:%Y年%m月%d日} 提出的“{matter.name}”申请，"
                 f"经审查，符合法定条件和标准，根据有关法律法规的规定，决定准予许可。"),
    ]
    if path_label:
        lines.append(("body", f"办理方式：{path_label}"))
    if opinion:
        lines.append(("body", f"决定意见：{opinion}"))
    lines += [("body", "决定：准予许可"), ("body", ""),
              ("body", f"实施机关：{matter.department}"),
              ("body", f"决定日期：{decided:%Y年%m月%d日}")]
    return _build("准予行政许可决定书", lines, f"准予许可决定书 {application.number}")
