"""Chunk-level city and service-domain tags, so filters select passages, not whole papers.

A paper about four cities should not answer a 杭州 filter with its 上海 paragraph. A
chunk carries a city when the city is named in its text or section path; it carries a
domain when the domain's words occur there, and otherwise inherits the document's
domain if the document has just one.
"""

from __future__ import annotations

from rag.types import Chunk, DocumentMeta

DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "就业": ("就业", "招聘", "岗位", "求职", "招工", "务工"),
    "教育": ("教育", "学校", "课堂", "学生", "教学", "学习"),
    "卫生": ("卫生", "医疗", "健康", "诊所", "医师", "疫苗", "病历"),
    "养老": ("养老", "老年", "老人", "老龄", "助餐"),
    "治理": ("治理", "监管", "数据安全", "隐私", "垄断", "标准化", "数字政府"),
}


def chunk_tags(chunk: Chunk, meta: DocumentMeta) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(cities, domains)`` of one chunk, drawn from its document's lists."""
    where = chunk.section + "\n" + chunk.text
    cities = tuple(c for c in meta.cities if c.removesuffix("市") in where)
    domains = tuple(d for d in meta.domains if any(w in where for w in DOMAIN_WORDS.get(d, (d,))))
    # A general passage of a single-domain document belongs to that domain; in a document
    # spanning several, a passage naming none belongs to none of them in particular.
    return cities, domains or (meta.domains if len(meta.domains) == 1 else ())
