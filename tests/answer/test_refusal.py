"""Refusal as a property of the evidence: the question's focus, place, year and kind of
answer must be what the evidence says — on questions people actually type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline, final_answer
from rag.types import Answer, DocumentMeta
from tests.conftest import make_settings


def ask(pipe: Pipeline, question: str) -> Answer:
    return final_answer(pipe.run(question))


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("上海的房价是多少？", "资料中没有关于上海房价的内容"),
        ("明天北京天气怎么样", "天气"),
        ("深圳今天会下雨吗", "下雨"),
        ("怎么办理护照？", "护照"),
        ("我是社区工作者，怎么帮老人用健康码？", "资料中没有"),
    ],
)
def test_questions_that_only_name_a_corpus_place_or_topic_are_refused(bundled: Pipeline, question: str, says: str) -> None:
    a = ask(bundled, question)
    assert a.refused, a.answer
    assert a.answer.startswith(says) or says in a.answer.split("\n")[0]
    assert a.reason is not None and a.reason["message"] == a.answer.split("\n")[0]
    # Nothing is offered as the answer: a related sentence, if any, is marked as such.
    assert all("资料只提到" in a.answer for _ in a.citations)


def test_the_reason_names_the_check_and_the_term(bundled: Pipeline) -> None:
    a = ask(bundled, "上海的房价是多少？")
    assert a.reason == {"check": "focus", "term": "房价", "message": "资料中没有关于上海房价的内容。"}
    assert a.status.startswith("refused: focus")
    assert "资料库目前收录" in a.answer  # then what the corpus does hold


def test_a_year_the_evidence_does_not_have_is_refused(bundled: Pipeline) -> None:
    a = ask(bundled, "2023年常德建了多少家线下智能养老服务站点？")
    assert a.refused and a.reason is not None and a.reason["check"] == "year" and a.reason["term"] == "2023"


@pytest.mark.parametrize(
    ("question", "check"),
    [
        # The sentence found says what 邯郸 did; its paragraph merely lists 株洲 too.
        ("株洲是不是也把直播带岗融进了春风行动？", "place"),
        # The digit of IPv6 or 5G is no count, nor is the ordinal of 第六代.
        ("How many 5G基站 does China have now?", "answer_type"),
        # 「一件事」 names the integrated service, it does not count what was done.
        ("上海一网通办到现在累计办了多少件事？", "answer_type"),
        # A sentence on 中国特色社会主义 is no count of China's older people.
        ("中国60岁以上老年人有多少？", "answer_type"),
        # A post is no name: the committee and its 主任委员 are written, no person is.
        ("上海市数据专家委员会的主任委员是谁？", "answer_type"),
        # A count of products is no unit price: the question clause asks a 单价, which no
        # passage gives.
        ("湖南常德数字养老里的那12种养老产品，老人买的话单价多少？", "focus"),
        ("政务服务便民热线的号码是多少？", "focus"),
        # A body is named, but nobody 备案s in the sentence.
        ("企业自主开展职业技能等级认定，要先向哪个部门备案？", "focus"),
        # The paper names no author: its text shown for its own sake does not say who wrote it.
        ("《数字技术赋能城市公共服务的实践、问题与对策》这篇文章是谁写的？", "focus"),
        # A post asked by 「叫什么名字」 is a person asked for, as by 「是谁」.
        ("杨浦区数字养老院的院长叫什么名字？", "focus"),
        # A count of households needs a figure in 户: 「银发家庭」 is no count.
        ("上海“拍家园”服务了多少户家庭？", "answer_type"),
        # How to do it, wherever it is done: the sentence must say how to 申领.
        ("怎么在手机上申领电子社保卡？", "focus"),
        # A premise, then the question: judged on what follows 那.
        ("个保法说人脸是敏感个人信息，那我家狗该打几针疫苗？", "focus"),
        # Without 那: the question clause alone names nothing the corpus has.
        ("杭州老年食堂可以刷长者码，杭州小笼包怎么做才好吃？", "focus"),
        # A post asked in English: the sentence listing the bodies that drew up a guide names no person.
        ("Who is the head of the 国家数据局?", "answer_type"),
        # An increase (新增4000万人以上) is not the total asked for.
        ("全国技能人才总量现在有多少人？", "answer_type"),
    ],
)
def test_near_misses_the_evidence_does_not_answer(bundled: Pipeline, question: str, check: str) -> None:
    a = ask(bundled, question)
    assert a.refused, (question, a.answer)
    assert a.reason is not None and a.reason["check"] == check, a.status


def test_a_work_the_corpus_never_names_is_refused_by_its_title(bundled: Pipeline) -> None:
    # The 45号文 is in the corpus and speaks of 广场舞; the song is not.
    a = ask(bundled, "45号文鼓励开发广场舞应用，那《小苹果》是谁唱的？")
    assert a.refused and a.reason == {"check": "focus", "term": "小苹果", "message": "资料中没有关于小苹果的内容。"}


def test_a_named_thing_must_be_what_the_answer_sentence_is_about(bundled: Pipeline) -> None:
    # The corpus names “随申办”, and defines 大型网络平台 by its 注册用户: that definition's
    # 5000万 is not the app's user count.
    a = ask(bundled, "随申办有多少注册用户？")
    assert a.refused and "5000万" not in a.answer
    assert a.reason is not None and a.reason["term"] == "随申办"
    assert a.reason["message"] == "资料中没有关于随申办注册用户的内容。"  # not 「没有关于随申办」: it is named


def test_what_a_document_the_corpus_lacks_says_is_not_answered_from_its_mentions(bundled: Pipeline) -> None:
    a = ask(bundled, "《技能人才薪酬分配指引》里对技能津贴是怎么规定的？")
    assert a.refused and a.reason is not None and a.reason["check"] == "document"
    first, related = a.answer.split("\n")[:2]
    assert "《技能人才薪酬分配指引》" in first
    # What the corpus does say of it is offered as such, with its source.
    assert related.startswith("资料只提到") and "落实《技能人才薪酬分配指引》" in related and "[1]" in related
    # … quoted from the 技能中国 text that mentions it, exactly.
    assert len(a.citations) == 1 and "技能" in a.citations[0].title and "《技能人才薪酬分配指引》" in a.citations[0].quote


def test_a_known_phrase_is_read_whole(bundled: Pipeline) -> None:
    # 「大数据杀熟」 is what the law calls 不合理的差别待遇; read word by word, 杀熟 is in no
    # sentence and the question would be refused.
    a = ask(bundled, "大数据杀熟，个保法管不管？")
    assert not a.refused and "差别待遇" in a.answer, a.status


def test_questions_the_corpus_answers_are_still_answered(bundled: Pipeline) -> None:
    for question, expected in [
        # The IPv6 figure, not the 6 of its name.
        ("十四五规划里说IPv6活跃用户有多少？", "4.6亿"),
        # The Shenzhen regulation says 本市: its articles are about 深圳.
        ("深圳开放公共数据要收钱吗？", "不得收取任何费用"),
        # Named by its law, a question is in scope whatever the dense cosine of its wording.
        ("网络安全法是从哪天开始施行的？", "2017年6月1日"),
        ("重要数据的处理者多久要做一次风险评估？", "每年度"),
        ("常德建了多少家线下智能养老服务站点？", "13家"),
        ("杭州老年食堂怎么付款？", "长者码"),
        ("处理不满十四周岁未成年人个人信息需要谁同意？", "父母或者其他监护人"),
        ("商店能不能拒收现金？", "拒收现金"),
        # 「一定比例的什么」 asks what is kept, not a percentage.
        ("按国办方案，医院要保留一定比例的什么给不会用手机的老人？", "现场号源"),
        # Where to go to sue is a body, not a place.
        ("个人信息处理者拒绝我查阅、删除这些请求，我能去哪儿告它？", "人民法院"),
        # 「in charge」 asks who is responsible; it is not 「charge」, a fee.
        ("Which Beijing department is in charge of the 一网慧治 work?", "经济和信息化部门"),
    ]:
        a = ask(bundled, question)
        assert not a.refused and expected in a.answer, (question, a.status)


@pytest.fixture(scope="module")
def counties(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Pipeline:
    """A corpus with one county's figure: 泸溪县, not its neighbour 沅陵县."""
    pipe = Pipeline(make_settings(tmp_path_factory.mktemp("counties"), cache_dir))
    text = ("湖南省湘西州泸溪县推进数字乡村建设。\n"
            "泸溪县建成了41个村级综合服务站，为留守老人提供代办服务。\n"
            "怀化市加强了农村电商服务体系建设。\n")
    Indexer(pipe.index).ingest_texts([(DocumentMeta(doc_id="county", title="县域数字服务简报", kind="report"), text)],
                                     root="test")
    return pipe


def test_a_sibling_county_is_not_the_county_asked(counties: Pipeline) -> None:
    a = ask(counties, "沅陵县建成了多少个村级综合服务站？")
    assert a.refused and "41个" not in a.answer.split("\n")[0]
    assert a.reason is not None and a.reason["check"] == "place" and a.reason["term"] == "沅陵县"
    # What the corpus has on the neighbour is offered as exactly that, with its source.
    assert "资料只提到泸溪县" in a.answer and a.citations and "泸溪县" in a.citations[0].quote
    answered = ask(counties, "泸溪县建成了多少个村级综合服务站？")
    assert not answered.refused and answered.direct.startswith("41个")


@pytest.fixture(scope="module")
def use_m3(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Pipeline:
    """The bundled corpus under the other bundled embedding model."""
    pipe = Pipeline(make_settings(tmp_path_factory.mktemp("use-m3"), cache_dir, embedding={"model": "use-m3"}))
    pipe.ensure_index()
    return pipe


def test_refusal_thresholds_belong_to_the_embedding_model(use_m3: Pipeline) -> None:
    # use-m3's cosines run far below e5-small's: under e5's thresholds these were refused
    # as weak evidence. Under its own they are answered — and a trap is still refused.
    for question, expected in [("常德建了多少家线下智能养老服务站点？", "13家"),
                               ("网络安全法是从哪天开始施行的？", "2017年6月1日"),
                               ("杭州老年食堂怎么付款？", "长者码")]:
        a = ask(use_m3, question)
        assert not a.refused and expected in a.answer, (question, a.status)
    assert ask(use_m3, "上海的房价是多少？").refused


def test_an_english_refusal_offers_a_related_fact_in_readable_words(bundled: Pipeline) -> None:
    a = ask(bundled, "Who is the head of the National Data Administration?")
    assert a.refused
    related = [line for line in a.answer.split("\n") if line.startswith("The documents only")]
    # 「The documents only mention :到2029年……」 read as broken; the lead ends with ': '.
    assert related and all(re.match(r"The documents only (?:say|mention \S.*?): \S", line) for line in related), related


@pytest.mark.parametrize(
    ("question", "says"),
    [
        # English prices: the head is the kind of price, not any 价格 (data-trading prices).
        ("What is the house price in Shanghai?", "The documents say nothing about Shanghai house prices."),
        # A place the corpus covers, on a topic it does not: the place is not said to be missing.
        ("How much is the bus fare in Shenzhen?", "The documents have nothing on this for Shenzhen."),
    ],
)
def test_english_near_topic_questions_are_refused_in_words_that_are_true(bundled: Pipeline, question: str, says: str) -> None:
    a = ask(bundled, question)
    assert a.refused and a.answer.split("\n")[0] == says


def test_a_covered_place_asked_about_an_uncovered_topic_is_not_said_to_be_missing(bundled: Pipeline) -> None:
    a = ask(bundled, "上海在就业公共服务方面有哪些具体做法？")
    assert a.refused
    first = a.answer.split("\n")[0]
    assert first == "资料中没有上海在就业方面的具体做法。"
    assert "资料中没有关于上海的相关内容" not in a.answer


def test_the_scene_before_the_question_neither_refuses_nor_answers_it(bundled: Pipeline) -> None:
    # 「我在街道负责宣传，想写篇稿子：」 sets a scene; its words (宣传, 稿子) are not what is asked.
    a = ask(bundled, "我在街道负责宣传，想写篇稿子：网络安全法对网络日志的留存有什么要求？")
    assert not a.refused, a.answer
    assert "第二十一条" in a.answer and "不少于六个月" in a.answer
    # The scene does not make an unanswerable question answerable either.
    b = ask(bundled, "我在街道负责宣传，想写篇稿子：上海的房价是多少？")
    assert b.refused and b.reason is not None and b.reason["term"] == "房价"


def test_two_documents_side_by_side_each_carry_their_own_place(bundled: Pipeline) -> None:
    # The place belongs to one of the documents (上海's decision), not to the law beside it.
    a = ask(bundled, "老年人用不来线上办事。数据安全法和上海的“一网通办”决定对此分别有什么要求？")
    assert not a.refused, a.answer
    assert "《中华人民共和国数据安全法》第十五条" in a.answer and "一网通办" in a.answer


def test_the_date_of_a_text_that_stops_early_is_refused_with_the_documents_caveat(bundled: Pipeline) -> None:
    # The bundled 杭州城市大脑条例 stops at 第十八条: its 施行 article is not in the corpus.
    a = ask(bundled, "杭州城市大脑赋能城市治理促进条例已经生效了吗？从哪天开始施行？")
    assert a.refused and a.reason is not None and a.reason["check"] == "answer_type"
    first, second = a.answer.split("\n")[:2]
    assert first == "资料中没有《杭州城市大脑赋能城市治理促进条例》施行的具体时间。"
    assert second.startswith("本文本不完整")
    # A document whose text is whole still answers with its closing article.
    b = ask(bundled, "上海市数据条例已经生效了吗？从哪天开始施行？")
    assert not b.refused and b.answer.startswith("2022年1月1日[1]")


def test_what_something_costs_needs_a_sentence_that_says_so(bundled: Pipeline) -> None:
    # The corpus says the disclosure of government information on request is free …
    a = ask(bundled, "Does it cost anything to apply for government information disclosure?")
    assert not a.refused and "不收取费用" in a.answer
    # … and nothing about what a skills assessment costs: not answered with how it is done.
    b = ask(bundled, "How much does it cost to get a vocational skill level assessment (职业技能等级认定)?")
    assert b.refused
    # Nor how hard a licence is to get, of a job the paper only names.
    c = ask(bundled, "无人机驾驶员证好考吗？")
    assert c.refused and c.reason is not None and c.reason["term"] == "驾驶员证"


@pytest.mark.parametrize(
    ("question", "starts"),
    [
        # The version's year qualifies the document; the question asks when it took effect.
        ("2016年通过的那版网络安全法是哪天开始施行的？", "2017年6月1日[1]"),
        # Asked in English, the document's own dating lines answer it too.
        ("When was the Data Security Law adopted?", "2021年6月10日[1]"),
        ("When does the Data Security Law take effect?", "2021年9月1日[1]"),
    ],
)
def test_when_a_named_law_was_adopted_or_took_effect_is_read_off_its_own_dating_lines(
        bundled: Pipeline, question: str, starts: str) -> None:
    a = ask(bundled, question)
    assert not a.refused and a.answer.startswith(starts), a.answer


def test_a_version_the_corpus_does_not_hold_is_still_refused(bundled: Pipeline) -> None:
    a = ask(bundled, "2019年通过的数据安全法什么时候施行？")
    assert a.refused and a.reason is not None and a.reason["check"] == "year"


def test_an_english_title_no_document_goes_by_is_a_missing_document(bundled: Pipeline) -> None:
    a = ask(bundled, "When did China's E-Commerce Law come into force?")
    assert a.refused and a.reason is not None and a.reason["check"] == "document"
    assert a.answer.startswith("The corpus does not hold 《E-Commerce Law》")
    # A capitalised question word before "Law" names no document.
    w = ask(bundled, "What Law protects personal information in China?")
    assert w.reason is None or w.reason["check"] != "document"
    # English names of corpus documents, possessive and all, still resolve.
    b = ask(bundled, "Under Beijing's Digital Economy Promotion Regulations, which sectors have public data zones?")
    assert not b.refused
    assert b.citations and all(c.doc_id == "beijing-shuzi-jingji-cujin-tiaoli-2022" for c in b.citations)


@pytest.mark.parametrize(
    "question",
    [
        # The corpus promotes these acts (「完善……预约挂号方式」「推动……医保电子凭证……办理就医服务」)
        # but never says how they are done.
        "家里老人不会用手机，子女怎么在网上替他预约挂号？",
        "医保电子凭证怎么激活？",
        "How do I register for the 随申办 app?",
    ],
)
def test_a_how_to_question_the_corpus_only_promotes_is_refused_for_its_steps(bundled: Pipeline, question: str) -> None:
    a = ask(bundled, question)
    assert a.refused, a.answer
    assert a.reason is not None and a.reason["check"] in ("answer_type", "focus", "evidence"), a.reason


def test_a_how_to_refusal_says_the_steps_are_missing(bundled: Pipeline) -> None:
    a = ask(bundled, "医保电子凭证怎么激活？")
    assert a.reason is not None and a.reason["term"] == "steps"
    assert a.answer.startswith("资料中没有") and "具体办理步骤" in a.answer.split("\n")[0]


def test_a_how_to_question_a_rule_answers_is_answered(bundled: Pipeline) -> None:
    # 「……应当向行政机关的政府信息公开工作机构提出……」 says how the 申请 is made.
    a = ask(bundled, "我想申请政府信息公开，应该怎么申请？")
    assert not a.refused, a.answer
    assert "提出" in a.answer


@pytest.mark.parametrize(
    "question",
    ["上海市数据专家委员会的委员都有谁？给个名单", "Who is the current chief data officer of Shanghai?"],
)
def test_who_holds_a_post_needs_a_persons_name(bundled: Pipeline, question: str) -> None:
    a = ask(bundled, question)
    assert a.refused, a.answer
    assert a.reason is not None and a.reason["term"] == "person"


def test_which_post_a_rule_designates_is_still_answered(bundled: Pipeline) -> None:
    a = ask(bundled, "按北京数字经济促进条例，单位的数据安全第一责任人是谁？")
    assert not a.refused, a.answer
    assert "主要负责人" in a.direct


@pytest.mark.parametrize(
    ("question", "fine"),
    [
        # The fine is the clause after 「……责令限期改正；」, without the offence's words.
        ("电信业务经营者不依法提供无障碍信息服务，逾期不改会罚多少钱？", "一万元以上十万元以下"),
        # The fine stands above the list of offences it punishes.
        ("擅自改变无障碍设施的用途，逾期不改的单位罚款标准是什么？", "一万元以上三万元以下"),
        # Of an article's fines, the clause that names the asked circumstance.
        ("按数据安全法，不履行数据安全保护义务又造成大量数据泄露的，罚多少？", "五十万元以上二百万元以下"),
    ],
)
def test_a_fine_is_read_with_its_article(bundled: Pipeline, question: str, fine: str) -> None:
    a = ask(bundled, question)
    assert not a.refused, a.answer
    assert fine in a.direct, a.answer


def test_a_legal_range_does_not_answer_what_was_imposed(bundled: Pipeline) -> None:
    a = ask(bundled, "数据安全法施行以来，一共罚了多少钱？")
    assert a.refused, a.answer
    assert "资料只提到" in a.answer  # the range is offered as what it is


def test_a_plan_period_set_by_its_section_is_the_periods(bundled: Pipeline) -> None:
    # 「（一）发展现状」 opens with 「“十三五”时期，……」; its later paragraph on IPv6 speaks of it.
    a = ask(bundled, "十三五期间我国IPv6活跃用户数达到了多少？")
    assert not a.refused, a.answer
    assert "4.6亿" in a.direct


def test_a_year_that_dates_the_document_is_not_a_year_asked_of_the_evidence(bundled: Pipeline) -> None:
    a = ask(bundled, "Under the State Council's 2020 plan, what modes should apps offer for older users?")
    assert not (a.reason or {}).get("check") == "year", a.answer


def test_an_english_title_with_more_words_still_names_the_document(bundled: Pipeline) -> None:
    a = ask(bundled, "What do the National Data Infrastructure Construction Guidelines aim for by 2029?")
    assert (a.reason or {}).get("check") != "document", a.answer
    assert any(c.doc_id == "guojia-shuju-jichu-sheshi-jianshe-zhiyin-2024" for c in a.citations)


def test_an_app_the_corpus_never_names_is_refused_by_its_name(bundled: Pipeline) -> None:
    a = ask(bundled, "粤省事App怎么注册？")
    assert a.refused and a.reason is not None and a.reason["term"] == "粤省事", a.answer
    # A common word before 「App」 is no name: the question is about children's data.
    b = ask(bundled, "我们做儿童教育App，收集不满十四周岁孩子的信息要谁同意？")
    assert not b.refused, b.answer
    assert "监护人" in b.answer


@pytest.mark.parametrize(
    "question",
    [
        # Tasks and figures no policy text gives.
        "请把“公共数据”翻译成英文",
        "Please translate 数据安全 into German.",
        "手机数据线选USB-C还是Lightning好？",
        "What's the best way to learn programming in Python?",
        "How much money has the central government invested in data infrastructure?",
        # The figure the question starts from is not the part it asks about.
        "杨浦区数字养老院那48项服务里，精神慰藉类有几项？",
        # A plan's target is not where things stand.
        "目前我国技能人才占就业人员的比例已经是多少了？",
        # A date is given, but of building the infrastructure, not of publishing a plan.
        "国家数据基础设施建设规划预计什么时候发布？",
        # Cases are counted in 起, not in 人次 of consultations.
        "深圳诊所服务监管一体化平台一共查处了多少起违规案件？",
        # A building's whereabouts is its address.
        "世界技能博物馆具体在哪里？",
        # A sibling district: the corpus speaks of 朝阳区 only.
        "北京西城区的区域数字化公共卫生体系覆盖了多少居民？",
        # Paying at a window is no 服务费.
        "老人去医院人工窗口挂号，要多交服务费吗？",
    ],
)
def test_near_misses_from_fresh_batches_are_refused(bundled: Pipeline, question: str) -> None:
    a = ask(bundled, question)
    assert a.refused, a.answer


def test_a_fee_the_text_forbids_is_still_answered(bundled: Pipeline) -> None:
    # 「不得向被检查单位收取费用」 speaks of the 检查费 asked about.
    a = ask(bundled, "主管部门做网络数据安全监督检查，能收企业的检查费吗？")
    assert not a.refused, a.answer
    assert "不得" in a.answer


@pytest.mark.parametrize(
    "question",
    ["帮我给社区写一篇“智慧助老”的动员讲话稿", "你觉得杭州城市大脑以后能完全取代交警吗？", "Write a short post celebrating our 网络安全等级保护 assessment."],
)
def test_a_request_to_write_or_to_judge_is_declined_as_such(bundled: Pipeline, question: str) -> None:
    a = ask(bundled, question)
    assert a.refused and a.reason is not None and a.reason["check"] == "task", a.answer
    assert a.citations == []  # nothing is quoted as if it answered


def test_a_traditional_procedure_stays_a_procedure() -> None:
    from rag.text.script import to_mainland

    # OpenCC's tw2sp reads 程序 as a running program (进程); in a question it is a procedure.
    assert to_mainland("內部評聘需要走哪些程序？網路資訊") == "内部评聘需要走哪些程序？网络信息"


def test_a_name_guess_without_a_surname_is_no_person() -> None:
    from rag.text.persons import person_names

    assert person_names("推动数据领域高水平专家在国际组织任职。") == ()
    assert person_names("杭州城市大脑由王坚提出") == ("王坚",)
