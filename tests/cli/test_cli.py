"""The ``policy-qa`` command as a user runs it: JSON contracts, exit codes, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CORPUS_DOC, DOC_ID


@pytest.fixture(scope="module")
def indexed_home(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """One home with the bundled corpus, shared by the read-only CLI tests."""
    from tests.conftest import run_cli

    home = tmp_path_factory.mktemp("cli-home")
    r = run_cli(["ingest", "--json"], home, cache_dir)
    assert r.returncode == 0, r.stderr
    return home


def cli_json(args: list[str], home: Path, cache_dir: Path) -> dict:
    from tests.conftest import run_cli

    r = run_cli(args, home, cache_dir)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_ingest_reports_and_is_idempotent(indexed_home: Path, cache_dir: Path) -> None:
    report = cli_json(["ingest", "--json"], indexed_home, cache_dir)
    assert len(report["unchanged"]) == 18 and DOC_ID in report["unchanged"]
    assert report["added"] == report["updated"] == report["removed"] == []
    assert report["chunks"] > 900


def test_ask_json_contract_and_exact_quotes(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["ask", "--json", "常德建了多少家线下智能养老服务站点？"], indexed_home, cache_dir)
    assert set(out) >= {"answer", "refused", "mode", "citations", "passages"}
    assert out["refused"] is False and out["mode"] == "extractive"
    assert "13家" in out["answer"]
    text = CORPUS_DOC.read_text(encoding="utf-8")
    for c in out["citations"]:
        assert set(c) >= {"n", "doc_id", "chunk_id", "title", "section", "quote", "start", "end"}
        assert text[c["start"] : c["end"]] == c["quote"]
    assert any("13家线下智能养老服务站点" in c["quote"] for c in out["citations"])
    for p in out["passages"]:
        assert set(p) >= {"chunk_id", "doc_id", "title", "section", "text", "score"}


def test_ask_refuses_what_the_corpus_does_not_cover(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["ask", "--json", "今天天气怎么样"], indexed_home, cache_dir)
    assert out["refused"] is True and out["citations"] == []


def test_retrieve_json_traditional_question(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["retrieve", "--json", "楊浦區數字養老院的服務清單有多少項"], indexed_home, cache_dir)
    assert out["query"] == "楊浦區數字養老院的服務清單有多少項"
    assert "48项" in out["passages"][0]["text"]
    assert set(out["passages"][0]) >= {"chunk_id", "doc_id", "title", "section", "text", "score"}


def test_retrieve_with_filter_and_k(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["retrieve", "--json", "-k", "2", "--filter", "city=杭州", "数字化服务"], indexed_home, cache_dir)
    assert len(out["passages"]) == 2
    assert all("杭州" in p["text"] for p in out["passages"])


def test_docs_lists_the_bundled_documents_with_level_and_status(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["docs", "--json"], indexed_home, cache_dir)
    docs = {d["doc_id"]: d for d in out["documents"]}
    assert len(docs) == 18
    assert docs[DOC_ID]["kind"] == "paper" and docs[DOC_ID]["legal_level"] == "研究文章" and docs[DOC_ID]["chunks"] > 20
    for d in docs.values():
        assert d["legal_level"] and d["status"] in ("现行有效", "已修订", "已废止", "未核实") and d["chunks"] > 0
    pipl = docs["geren-xinxi-baohu-fa-2021"]
    assert (pipl["legal_level"], pipl["date"], pipl["date_effective"]) == ("法律", "2021-08-20", "2021-11-01")
    assert docs["hangzhou-chengshi-danao-tiaoli-2020"]["complete"] is False


def test_ask_json_cites_laws_by_article(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["ask", "--json", "处理不满十四周岁未成年人个人信息需要谁同意？"], indexed_home, cache_dir)
    assert "父母或者其他监护人" in out["direct"]
    first = out["citations"][0]
    assert first["locator"].startswith("《中华人民共和国个人信息保护法》第三十一条")
    assert set(first) >= {"locator", "legal_level", "status", "notice"}
    text = out["answer"]
    r = run_cli_text(["ask", "处理不满十四周岁未成年人个人信息需要谁同意？"], indexed_home, cache_dir)
    assert "[1] 《中华人民共和国个人信息保护法》第三十一条" in r and text.split("\n")[0] in r


def test_retrieve_json_ranks_a_named_article_first(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["retrieve", "--json", "数据安全法第二十一条"], indexed_home, cache_dir)
    assert out["passages"][0]["locator"] == "《中华人民共和国数据安全法》第二十一条"
    out = cli_json(["retrieve", "--json", "国办发〔2020〕45号的工作目标"], indexed_home, cache_dir)
    assert out["passages"][0]["section"].endswith("（三）工作目标")


def test_ask_refuses_a_document_the_corpus_lacks(indexed_home: Path, cache_dir: Path) -> None:
    out = cli_json(["ask", "--json", "国发〔2022〕14号提出了哪些目标？"], indexed_home, cache_dir)
    assert out["refused"] is True and "国发〔2022〕14号" in out["answer"] and "18份文件" in out["answer"]


def run_cli_text(args: list[str], home: Path, cache_dir: Path) -> str:
    from tests.conftest import run_cli

    r = run_cli(args, home, cache_dir)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_eval_json_on_the_gold_set(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("eval", "--json", "--limit", "6", "--out", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("n", "hit@1", "hit@5", "mrr", "answer_recall@5", "p50_ms", "p95_ms", "answer_accuracy",
                "refusal_precision", "refusal_recall", "citation_exactness", "settings_fingerprint", "git_commit"):
        assert key in out, key
    assert out["n"] == 6
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["n"] == 6


def test_eval_reports_refusal_per_half_and_per_trap_category(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {"id": "a", "split": "dev", "category": "price", "question": "上海的房价是多少？", "answerable": False,
         "gold": [], "answers": []},
        {"id": "b", "split": "test", "category": "weather", "question": "深圳今天会下雨吗", "answerable": False,
         "gold": [], "answers": []},
        {"id": "c", "split": "test", "category": "answerable", "question": "2018年我国数字经济领域就业岗位有多少个？",
         "answerable": True, "answers": ["1.91亿个"],
         "gold": [{"doc_id": DOC_ID, "anchor": "2018年，我国数字经济领域就业岗位达到1.91亿个"}]},
    ]
    f = tmp_path / "traps.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    r = cli("eval", "--json", "--dataset", str(f), "--split", "all", "--out", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["by_split"]["dev"]["n"] == 1 and out["by_split"]["test"]["n"] == 2
    assert out["by_category"]["price"]["refusal_recall"] == 1.0
    assert out["by_category"]["weather"]["refusal_recall"] == 1.0
    assert out["by_category"]["answerable"]["wrongly_refused"] == 0.0
    assert out["by_split"]["test"]["refusal_precision"] == 1.0 and out["wrongly_refused"] == 0.0


def _squad_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A SQuAD-format file: one paragraph per (context, question, answer) row."""
    paragraphs = [
        {"context": ctx, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": ctx.find(a)}]}]}
        for i, (ctx, q, a) in enumerate(rows, 1)
    ]
    path.write_text(json.dumps({"version": "t", "data": [{"title": "t", "paragraphs": paragraphs}]},
                               ensure_ascii=False), encoding="utf-8")
    return path


def test_eval_squad_on_a_traditional_script_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _squad_file(tmp_path / "drcd.json", [
        ("臺北市政府推出數位市民卡，市民可用手機辦理一百多項服務。", "臺北市的數位市民卡可以辦理多少項服務？", "一百多項"),
        ("高雄市設立了長者共餐據點，提供午餐給獨居老人。", "高雄市為獨居老人提供什麼？", "午餐"),
    ])
    r = cli("eval", "--json", "--squad", str(f), "--out", str(tmp_path / "r.json"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 2 and out["hit@1"] == 1.0


def test_eval_squad_converted_to_traditional_script(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _squad_file(tmp_path / "cmrc-like.json", [
        ("杭州老年食堂提供市民卡、长者码与人脸识别等支付渠道。", "杭州老年食堂有哪些支付渠道？", "长者码"),
        ("常德市建立了13家线下智能养老服务站点。", "常德建立了多少家养老服务站点？", "13家"),
    ])
    for mode in ("questions", "all"):
        r = cli("eval", "--json", "--squad", str(f), "--traditional", mode, "--out", str(tmp_path / f"{mode}.json"))
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["dataset"] == f"cmrc-like-traditional-{mode}" and out["n"] == 2 and out["hit@1"] == 1.0
    wrong = cli("eval", "--traditional", "all")
    assert wrong.returncode == 2 and "--squad" in wrong.stderr


def test_eval_squad_answers_and_out_of_domain_refusals(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _squad_file(tmp_path / "fish.json", [
        ("前肛鳗属于鳗鲡目，体长可达19.7公分，在100至400公尺深的海底生活。", "前肛鳗的体长可达多少？", "19.7公分"),
        ("盐城湿地珍禽国家级自然保护区建于1983年，每年秋季有丹顶鹤迁来越冬。", "盐城的珍禽自然保护区建于哪一年？", "1983年"),
    ])
    own = cli("eval", "--json", "--squad", str(f), "--answers", "--out", str(tmp_path / "own.json"))
    assert own.returncode == 0, own.stderr
    out = json.loads(own.stdout)
    assert out["answer_accuracy"] >= 0.5 and out["refused_share"] <= 0.5
    # The same questions asked of the bundled policy corpus: every one is refused.
    off = cli("eval", "--json", "--squad", str(f), "--against-bundled", "--out", str(tmp_path / "off.json"))
    assert off.returncode == 0, off.stderr
    out = json.loads(off.stdout)
    assert out["dataset"] == "fish-vs-bundled" and out["refused_share"] == 1.0 and out["refusal_recall"] == 1.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "question is empty"),
        (["ask", "--filter", "colour=red", "养老"], "unknown filter"),
        (["ask", "--filter", "nonsense", "养老"], "key=value"),
        (["ingest", "/no/such/folder"], "no such file"),
        (["eval", "--squad", "/no/such.json"], "not a readable"),
    ],
)
def test_input_errors_exit_2_with_one_clear_line(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    r = cli(*args)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip() and not line.startswith("DEBUG")]
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_unknown_command_is_a_usage_error(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("frobnicate").returncode == 2


def test_clean_turns_a_traditional_gbk_file_into_the_canonical_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "old.txt"
    src.write_bytes("隨著數(shù)字技術發展,臺灣".encode("gb18030"))
    r = cli("clean", str(src))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "随着数字技术发展，台湾\n"


def test_remove_withdraws_a_bundled_document_until_restored(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("ingest").returncode == 0
    r = cli("remove", DOC_ID)
    assert r.returncode == 0 and f"--restore {DOC_ID}" in r.stdout

    again = cli("ingest", "--json")  # the paper is still in the bundled corpus: skipped, said so
    assert again.returncode == 0
    assert json.loads(again.stdout)["withdrawn"] == [DOC_ID] and f"--restore {DOC_ID}" in again.stderr
    docs = json.loads(cli("docs", "--json").stdout)
    assert DOC_ID not in {d["doc_id"] for d in docs["documents"]} and docs["withdrawn"][0]["doc_id"] == DOC_ID

    wrong = cli("ingest", "--restore", "no-such-doc")
    assert wrong.returncode == 2 and "not a withdrawn document" in wrong.stderr and DOC_ID in wrong.stderr
    back = cli("ingest", "--restore", DOC_ID, "--json")
    assert back.returncode == 0 and DOC_ID in json.loads(back.stdout)["added"]
    assert "13家" in json.loads(cli("ask", "--json", "常德建了多少家线下智能养老服务站点？").stdout)["answer"]
    assert cli("remove", "no-such-doc").returncode == 2
