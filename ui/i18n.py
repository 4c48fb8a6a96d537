"""Every fixed string of the chat UI, one set of named constants per interface language.

Chinese is the default; English is a switch. Keeping them in one place means a new
label cannot be added in one language and forgotten in the other (the dataclass has no
defaults, so a missing field fails at import time), and translators edit one file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Literal

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class Strings:
    """The UI's fixed strings in one language."""

    html_lang: str  # value of the lang attribute of the page and of generated HTML
    skip_link: str
    title: str
    subtitle: str
    privacy_note: str
    # mode indicator
    mode_label: str
    mode_extractive: str
    mode_llm: str  # formatted with {model}
    fallback_note: str
    # chat
    chatbot_label: str
    chat_placeholder: str
    question_label: str
    question_placeholder: str
    send: str
    new_chat: str
    working: str
    error_generic: str
    error_input: str  # formatted with {message}
    refused_badge: str
    answer_badge: str
    # citations and sources
    citations_title: str
    citation_aria: str  # formatted with {n}
    open_citation: str  # formatted with {n}: what a [n] marker does when pressed
    section_label: str
    issuer_label: str
    date_label: str
    locator_label: str
    level_label: str
    status_label: str
    notice_label: str
    unknown: str
    open_passage: str
    quote_start: str
    quote_end: str
    quote_missing: str
    sources_title: str
    sources_empty: str
    source_item: str  # formatted with {n}
    score_label: str
    references_heading: str
    copy_button: str
    copied: str
    copy_failed: str
    # filters and examples
    filters_title: str
    domain_label: str
    city_label: str
    doc_label: str
    any_option: str
    examples_title: str
    # feedback
    feedback_title: str
    feedback_hint: str
    feedback_selected: str  # formatted with {n} and {rating}
    rating_up: str
    rating_down: str
    comment_label: str
    comment_placeholder: str
    submit_feedback: str
    feedback_thanks: str
    feedback_unavailable: str
    feedback_none: str
    # display settings
    side_title: str
    settings_title: str
    script_label: str
    script_simplified: str
    script_traditional: str
    language_label: str
    large_text_label: str


ZH = Strings(
    html_lang="zh-CN",
    skip_link="跳到提问框",
    title="数字公共服务政策问答",
    subtitle="依据政策文件与研究资料作答，每条回答都附出处，可展开查看原文。",
    privacy_note="请勿输入身份证号、手机号等个人信息。",
    mode_label="回答方式",
    mode_extractive="离线抽取式",
    mode_llm="大模型：{model}",
    fallback_note="大模型暂不可用，本条已改用离线抽取式回答。",
    chatbot_label="对话",
    chat_placeholder="请在下方输入问题，或点击左侧的示例问题。",
    question_label="您的问题",
    question_placeholder="例如：常德建了多少家线下智能养老服务站点？（按 Enter 发送，Shift+Enter 换行）",
    send="发送",
    new_chat="新对话",
    working="正在处理…",
    error_generic="抱歉，处理问题时出错，请稍后重试。",
    error_input="无法处理这个问题：{message}",
    refused_badge="未找到足够依据，本条不作回答",
    answer_badge="有出处的回答",
    citations_title="参考出处",
    citation_aria="出处 {n}",
    open_citation="查看出处 {n}",
    section_label="章节",
    issuer_label="发布机构",
    date_label="日期",
    locator_label="出处",
    level_label="效力层级",
    status_label="时效性",
    notice_label="注意",
    unknown="未注明",
    open_passage="展开原文",
    quote_start="〔引文开始〕",
    quote_end="〔引文结束〕",
    quote_missing="（未能在原文中定位引文，以下为引文本身）",
    sources_title="检索到的资料",
    sources_empty="提问后，这里会列出检索到的资料。",
    source_item="资料 {n}",
    score_label="相关度",
    references_heading="参考出处：",
    copy_button="复制答案及出处",
    copied="已复制到剪贴板",
    copy_failed="复制失败，请手动选择文字复制",
    filters_title="检索范围",
    domain_label="服务领域",
    city_label="城市",
    doc_label="文档",
    any_option="全部",
    examples_title="示例问题",
    feedback_title="评价回答",
    feedback_hint="点击回答下方的 👍 / 👎 评价；也可以在这里评价最新一条回答。",
    feedback_selected="正在评价第 {n} 条回答：{rating}",
    rating_up="👍 有帮助",
    rating_down="👎 没帮助",
    comment_label="补充意见（可选）",
    comment_placeholder="哪里有帮助、哪里不对？",
    submit_feedback="提交评价",
    feedback_thanks="感谢您的评价，已记录。",
    feedback_unavailable="评价功能暂不可用。",
    feedback_none="还没有可评价的回答。",
    side_title="设置与筛选",
    settings_title="显示设置",
    script_label="字形",
    script_simplified="简体",
    script_traditional="繁體",
    language_label="界面语言 Language",
    large_text_label="大字号、高对比度",
)

EN = Strings(
    html_lang="en",
    skip_link="Skip to the question box",
    title="Digital Public Services Policy Q&A",
    subtitle="Answers come from policy documents and research, always with sources you can open.",
    privacy_note="Please do not enter ID numbers, phone numbers or other personal data.",
    mode_label="Answer mode",
    mode_extractive="Offline extractive",
    mode_llm="LLM: {model}",
    fallback_note="The LLM was unavailable; this answer is offline extractive.",
    chatbot_label="Conversation",
    chat_placeholder="Type a question below, or pick an example question.",
    question_label="Your question",
    question_placeholder="e.g. 常德建了多少家线下智能养老服务站点？ (Enter sends, Shift+Enter adds a line)",
    send="Send",
    new_chat="New chat",
    working="Working…",
    error_generic="Sorry, something went wrong. Please try again.",
    error_input="This question cannot be processed: {message}",
    refused_badge="Not enough evidence found; no answer given",
    answer_badge="Answer with sources",
    citations_title="Sources cited",
    citation_aria="Source {n}",
    open_citation="Show source {n}",
    section_label="Section",
    issuer_label="Issuer",
    date_label="Date",
    locator_label="Reference",
    level_label="Legal level",
    status_label="Status",
    notice_label="Note",
    unknown="not stated",
    open_passage="Show passage",
    quote_start="[quote begins]",
    quote_end="[quote ends]",
    quote_missing="(The quote could not be located in the passage; the quote itself follows.)",
    sources_title="Retrieved passages",
    sources_empty="After you ask, the passages found are listed here.",
    source_item="Passage {n}",
    score_label="Relevance",
    references_heading="References:",
    copy_button="Copy answer with sources",
    copied="Copied to the clipboard",
    copy_failed="Copy failed; please select the text and copy it",
    filters_title="Search scope",
    domain_label="Service domain",
    city_label="City",
    doc_label="Document",
    any_option="All",
    examples_title="Example questions",
    feedback_title="Rate an answer",
    feedback_hint="Use 👍 / 👎 under an answer, or rate the latest answer here.",
    feedback_selected="Rating answer {n}: {rating}",
    rating_up="👍 Helpful",
    rating_down="👎 Not helpful",
    comment_label="Comment (optional)",
    comment_placeholder="What helped, what was wrong?",
    submit_feedback="Submit rating",
    feedback_thanks="Thank you, your rating was recorded.",
    feedback_unavailable="Rating is not available right now.",
    feedback_none="There is no answer to rate yet.",
    side_title="Settings and filters",
    settings_title="Display",
    script_label="Script",
    script_simplified="简体",
    script_traditional="繁體",
    language_label="界面语言 Language",
    large_text_label="Large text, high contrast",
)

STRINGS: dict[Lang, Strings] = {"zh": ZH, "en": EN}


@lru_cache(maxsize=1)
def _zh_hant() -> Strings:
    """The Chinese strings in Traditional script: converted with the converter the answers
    use, so labels and answers agree character for character (為, not 爲)."""
    from rag.text.script import to_traditional

    converted = {f.name: to_traditional(getattr(ZH, f.name)) for f in fields(ZH)}
    # The switch's option back to Simplified reads 簡體 here: still legible to a
    # Simplified reader, and the page stays in one script.
    converted.update(html_lang="zh-Hant")
    return replace(ZH, **converted)

# Service domains offered by the filter before the index answers (the app lists the
# indexed documents' own domains once it does). Filter values stay Chinese in both
# languages because they are matched against document metadata.
DOMAINS: tuple[str, ...] = ("就业", "教育", "卫生", "养老", "治理", "政务服务", "数据安全", "个人信息", "无障碍")

# Example questions per service domain: real questions the bundled corpus answers, one
# list per interface language (the same number of each: the page has one button per
# example). The English ones are answered through the glossary in rag/text/synonyms.toml.
EXAMPLES_ZH: tuple[tuple[str, str], ...] = (
    ("养老", "杭州老年食堂怎么付款？"),
    ("养老", "常德建了多少家线下智能养老服务站点？"),
    ("就业", "“直播带岗”是什么？"),
    ("教育", "上海教育数字化转型实施方案是什么时候印发的？"),
    ("卫生", "深圳诊所服务监管一体化平台覆盖了多少名医师？"),
    ("治理", "哪些城市建议开展数字公共服务试点？"),
    ("个人信息", "处理不满十四周岁未成年人个人信息需要谁同意？"),
    ("养老", "商店能不能拒收现金？"),
    ("数据安全", "数据安全法第二十一条规定了什么？"),
)

EXAMPLES_EN: tuple[tuple[str, str], ...] = (
    ("Elderly care", "How do older people pay at Hangzhou's canteens for the elderly?"),
    ("Elderly care", "How many offline smart elderly-care service sites has Changde built?"),
    ("Employment", "What is live-streamed recruitment?"),
    ("Education", "When was Shanghai's education digital transformation plan issued?"),
    ("Health", "How many doctors does Shenzhen's clinic supervision platform cover?"),
    ("Governance", "Which cities are suggested for digital public service pilots?"),
    ("Personal data", "Whose consent is needed to process the personal information of a child under 14?"),
    ("Elderly care", "Can a shop refuse cash?"),
    ("Data security", "What does Article 21 of the Data Security Law provide?"),
)

# Between an example's domain and its question on the button; the click sends what follows.
EXAMPLE_SEPARATOR = "｜"


def examples(lang: str, script: str = "simplified") -> list[str]:
    """The example buttons' labels, 「领域｜问题」, in the interface's language and script."""
    if lang == "en":
        return [f"{d}{EXAMPLE_SEPARATOR}{q}" for d, q in EXAMPLES_EN]
    from rag.text.script import to_traditional

    conv = to_traditional if script == "traditional" else (lambda t: t)
    return [conv(f"{d}{EXAMPLE_SEPARATOR}{q}") for d, q in EXAMPLES_ZH]


def example_question(label: str) -> str:
    """The question an example button asks: its label after the domain."""
    return label.partition(EXAMPLE_SEPARATOR)[2].strip() or label.strip()


def strings(lang: str, script: str = "simplified") -> Strings:
    """The strings for ``lang`` (and, for Chinese, ``script``); anything unknown falls back
    to Chinese in Simplified script, the default."""
    if lang == "en":
        return EN
    return _zh_hant() if script == "traditional" else ZH
