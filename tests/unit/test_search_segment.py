"""crm.search.index._write_segment writes the same segment as Whoosh's own add_document + commit."""

import random
from datetime import UTC, datetime

from whoosh import index as windex

from crm.search.index import _write_segment
from crm.search.schema import build_schema, doc_fields

WORDS = ["富硒", "茶业", "安康", "生物医药", "新材料", "汉江", "秦巴", "紫阳", "恒信", "ABC", "单", "曾"]


def _docs(n: int) -> list[dict]:
    rng = random.Random(5)
    docs = []
    for i in range(1, n + 1):
        name = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))) + f"{i}有限公司"
        docs.append({
            "type": "lead", "id": i, "version": f"v{i}", "name": name, "company": name if i % 3 else None,
            "person_names": [rng.choice("张王单曾解") + rng.choice("世波明华")] if i % 4 else [],
            "titles": ["总经理"] if i % 2 else [], "industry_ids": [i % 5] if i % 5 else [],
            "industry_text": ["富硒食品", "硒产品"] if i % 5 == 1 else [], "tags": ["茶"] if i % 7 == 0 else [],
            "origin_region": rng.choice(["北京", "深圳", None]), "home_county": None,
            "notes": "计划扩建茶园 茶园 茶园" if i % 6 == 0 else None,
            "interactions": ["春节走访，谈新材料项目"] if i % 9 == 0 else [], "county_id": i % 3 or None,
            "kind": "enterprise", "status": "new", "is_key": i % 8 == 0,
            "last_contacted_at": datetime(2025, 1, 1 + i % 28, tzinfo=UTC) if i % 2 else None,
            "sort_name": name,
        })
    return docs


def _dump(ix) -> dict:
    with ix.reader() as reader:
        n = reader.doc_count_all()
        terms = {}
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            terms[(fieldname, text)] = (info.doc_frequency(), info.weight(), info.max_weight(), info.min_id(),
                                        info.max_id(), info.min_length(), info.max_length())
        column = reader.column_reader("pack")
        return {
            "count": n,
            "postings": list(reader.iter_postings()),
            "terms": terms,
            "stored": [reader.stored_fields(i) for i in range(n)],
            "pack": [column[i] for i in range(n)],
        }


def test_write_segment_matches_whoosh(tmp_path):
    docs = [doc_fields(d) for d in _docs(700)]  # > 128 documents per common term: several posting blocks
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ours = windex.create_in(str(tmp_path / "ours"), build_schema())
    _write_segment(ours, docs)
    theirs = windex.create_in(str(tmp_path / "theirs"), build_schema())
    writer = theirs.writer()
    for fields in docs:
        writer.add_document(**fields)
    writer.commit(merge=False)
    a, b = _dump(windex.open_dir(str(tmp_path / "ours"))), _dump(windex.open_dir(str(tmp_path / "theirs")))
    assert a["count"] == b["count"] == 700
    assert max(info[0] for info in a["terms"].values()) > 300
    for key in ("postings", "terms", "stored", "pack"):
        assert a[key] == b[key], key


def test_write_segment_writes_the_same_bytes(tmp_path):
    docs = [doc_fields(d) for d in _docs(300)]
    files = {}
    for name in ("ours", "theirs"):
        (tmp_path / name).mkdir()
        ix = windex.create_in(str(tmp_path / name), build_schema())
        if name == "ours":
            _write_segment(ix, docs)
        else:
            writer = ix.writer()
            for fields in docs:
                writer.add_document(**fields)
            writer.commit(merge=False)
        (segment,) = ix._segments()
        storage = segment.open_compound_file(ix.storage)  # the segment's files, packed in one
        prefix = segment.segment_id()
        files[name] = {f.replace(prefix, ""): storage.open_file(f).read() for f in storage.list()}
        storage.close()
    assert {".pst", ".trm"} <= set(files["ours"])
    assert files["ours"] == files["theirs"], sorted(files["ours"])


def test_jieba_tokenizer_line_by_line_equals_one_pass():
    from crm.search.analysis import JiebaTokenizer, _index_words, fold

    rng = random.Random(9)
    pieces = ["恩施硒源富硒茶业", "张世波", "总经理", "ABC 公司", "生物医药有限公司", "  ", "计划扩建茶园。", "Ｆｕｌｌ",
              "单于", "", "x", "北京"]
    tokenizer = JiebaTokenizer()
    for _ in range(2000):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
        assert list(tokenizer.tokens(text)) == _index_words(fold(text)), text
