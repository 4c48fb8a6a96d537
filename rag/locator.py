"""How a reference to a spot in a document is written, the way officials cite it.

A law or regulation is cited by its title and article: 《中华人民共和国数据安全法》第二十一条,
down to the paragraph and item where the article has several (第十三条第一款第（二）项). A
policy document with a 文号 is cited by it and its outline numbers: 国办发〔2020〕45号
二、（七）16．. Anything else by its title and outline numbers: 《国家数据基础设施建设指引》
五、（一）. One function writes them all, so the CLI, the API, the UI cards and the copied
references always agree.
"""

from __future__ import annotations

from dataclasses import replace

from rag.text.outline import structure
from rag.types import Citation, Document, DocumentMeta


def document_name(meta: DocumentMeta) -> str:
    """《title》, or the 文号 for a policy document that has one."""
    if meta.kind == "policy" and meta.doc_number:
        return meta.doc_number
    return f"《{meta.title}》" if meta.title else meta.doc_id


def locator(meta: DocumentMeta, text: str, offset: int, detail: bool = True) -> str:
    """The full human locator of ``offset`` in a document (``detail``: down to 款 and 项)."""
    name = document_name(meta)
    part = structure(text).locator(text, offset, detail)
    if not part:
        return name
    # 文号 and outline numbers are two tokens; a 《title》 joins its article directly.
    return f"{name} {part}" if name.endswith("号") and not name.endswith("》") else name + part


def cite(citation: Citation, doc: Document) -> Citation:
    """The citation with what a reader needs to judge its source: locator, legal level,
    status, and the document's notice (incomplete text, amended since …)."""
    m = doc.meta
    return replace(
        citation,
        locator=locator(m, doc.text, citation.start),
        legal_level=m.legal_level,
        status=m.status,
        notice=m.notice or ("" if m.complete else "本文本不完整，引用前请核对官方文本。"),
    )
