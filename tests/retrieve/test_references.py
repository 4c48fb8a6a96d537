"""Documents and articles named in questions, and names the corpus does not hold."""

from __future__ import annotations

import pytest

from rag.answer.messages import as_names
from rag.ingest.clean import clean_text
from rag.ingest.manifest import MANIFEST_NAME, bundled_corpus_dir, read_manifest
from rag.retrieve.references import DocumentNames
from rag.text.tokenize import words


@pytest.fixture(scope="module")
def names() -> DocumentNames:
    entries = read_manifest(bundled_corpus_dir() / MANIFEST_NAME)
    texts = {e.meta.doc_id: clean_text(e.path.read_text(encoding="utf-8")) for e in entries}
    return DocumentNames({e.meta.doc_id: e.meta for e in entries}, texts.__getitem__)


@pytest.mark.parametrize(
    ("question", "docs", "articles"),
    [
        ("数据安全法第二十一条", ("shuju-anquan-fa-2021",), (21,)),
        ("个保法第31条怎么说？", ("geren-xinxi-baohu-fa-2021",), (31,)),
        ("《中华人民共和国个人信息保护法》第十三条", ("geren-xinxi-baohu-fa-2021",), (13,)),
        ("国办发〔2020〕45号的工作目标", ("laonianren-zhineng-jishu-kunnan-2020",), ()),
        ("国办发[2020]45号的工作目标", ("laonianren-zhineng-jishu-kunnan-2020",), ()),
        ("请问国办发（2020）45号有哪些任务", ("laonianren-zhineng-jishu-kunnan-2020",), ()),
        # English text spells the 文号 in pinyin.
        ("What does Guobanfa [2020] No. 45 require of hospitals?", ("laonianren-zhineng-jishu-kunnan-2020",), ()),
        ("Under guofa (2021) 29, what are the tasks?", ("shuzi-jingji-fazhan-guihua-2021",), ()),
        ("How do the Shanghai and Shenzhen data regulations define public data?",
         ("shanghai-shuju-tiaoli-2021", "shenzhen-shuju-tiaoli-2021"), ()),
        ("45号文要求保留哪些线下渠道", ("laonianren-zhineng-jishu-kunnan-2020",), ()),
        ("十四五数字经济发展规划的目标", ("shuzi-jingji-fazhan-guihua-2021",), ()),
        ("国务院令第716号", ("zaixian-zhengwu-fuwu-guiding-2019",), ()),
        ("上海和深圳的数据条例分别怎么定义公共数据？", ("shanghai-shuju-tiaoli-2021", "shenzhen-shuju-tiaoli-2021"), ()),
        ("What does Article 21 of the Data Security Law require?", ("shuju-anquan-fa-2021",), (21,)),
        ("文章提出了哪些对策建议？", ("digital-tech-urban-public-services",), ()),
    ],
)
def test_named_documents_and_articles(names: DocumentNames, question: str, docs: tuple, articles: tuple) -> None:
    refs = names.resolve(question, words)
    assert refs.docs == docs and refs.articles == articles and not refs.missing and not refs.missing_articles


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("国发〔2022〕14号提出了哪些目标？", "国发〔2022〕14号"),
        ("《广州市数据条例》如何定义公共数据", "《广州市数据条例》"),
        ("广州市数据条例如何定义公共数据", "《广州市数据条例》"),
        ("民法典怎么定义个人信息", "《民法典》"),
        ("电子商务法对平台有什么要求", "《电子商务法》"),
        ("根据个人所得税法怎么申报", "《个人所得税法》"),
        # 「法规定」 is the law and 规定, not 法规.
        ("电子签名法规定可靠的电子签名要满足哪些条件", "《电子签名法》"),
    ],
)
def test_documents_the_corpus_does_not_hold(names: DocumentNames, question: str, missing: str) -> None:
    refs = names.resolve(question, words)
    assert as_names(refs.missing) == missing and not refs.docs


def test_an_article_the_named_law_does_not_have(names: DocumentNames) -> None:
    refs = names.resolve("个人信息保护法第八十条规定了什么", words)
    assert refs.docs == ("geren-xinxi-baohu-fa-2021",)
    assert refs.missing_articles == ("《中华人民共和国个人信息保护法》第八十条（该文件共七十四条）",)


def test_a_pair_of_places_where_one_has_no_such_regulation(names: DocumentNames) -> None:
    refs = names.resolve("北京和上海的数据条例有什么不同", words)
    assert refs.docs == ("shanghai-shuju-tiaoli-2021",) and refs.missing == ("北京数据条例",)


@pytest.mark.parametrize("question", ["有什么好办法", "依法保护个人信息", "这个条例怎么说", "什么是公共数据", "上海的房价是多少？"])
def test_ordinary_questions_name_nothing(names: DocumentNames, question: str) -> None:
    refs = names.resolve(question, words)
    assert not refs.any


def test_residual_drops_the_names_so_coverage_asks_about_the_rest(names: DocumentNames) -> None:
    refs = names.resolve("人社部发〔2021〕48号提出要新增多少技能人才？", words)
    assert "2021" not in refs.residual and "技能人才" in refs.residual
