import json

from ollama_mcp_tray.server.usage import UsageRecord, append_usage, read_usage, summarize


def record(ts, outcome="ok", out=10, eval_s=0.5):
    return UsageRecord(
        ts=ts,
        tool="generate",
        model="m",
        outcome=outcome,
        prompt_tokens=3,
        output_tokens=out,
        total_duration_s=1.0,
        eval_duration_s=eval_s,
    )


def test_records_round_trip_and_hold_no_text_fields(tmp_path):
    path = tmp_path / "sub" / "usage.jsonl"
    append_usage(path, record(1.0))
    append_usage(path, record(2.0, outcome="OllamaTimeout"))
    assert read_usage(path) == [record(1.0), record(2.0, outcome="OllamaTimeout")]
    keys = set(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    assert keys == {
        "ts",
        "tool",
        "model",
        "outcome",
        "prompt_tokens",
        "output_tokens",
        "total_duration_s",
        "eval_duration_s",
        "files_read",
        "bytes_read",
        "tokens_returned",
        "kept_out_tokens",
    }


def test_the_file_stays_bounded_and_keeps_the_newest_whole_records(tmp_path):
    path = tmp_path / "usage.jsonl"
    for i in range(500):
        append_usage(path, record(float(i)), max_bytes=20_000)
    assert path.stat().st_size <= 20_000
    records = read_usage(path)
    assert records[-1].ts == 499.0
    assert [r.ts for r in records] == sorted(r.ts for r in records)
    assert 50 < len(records) < 200


def test_a_broken_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "usage.jsonl"
    append_usage(path, record(1.0))
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"ts": \n')
    append_usage(path, record(2.0))
    assert [r.ts for r in read_usage(path)] == [1.0, 2.0]


def test_summary_counts_calls_since_a_time_and_takes_the_median_speed():
    records = [
        record(1.0, out=100, eval_s=1.0),
        record(5.0, out=10, eval_s=1.0),
        record(6.0, out=30, eval_s=1.0),
        record(7.0, outcome="OllamaUnreachable", out=0),
    ]
    summary = summarize(records, since=5.0)
    assert (summary.calls, summary.errors, summary.output_tokens, summary.prompt_tokens) == (3, 1, 40, 9)
    assert summary.median_tokens_per_second == 20.0
    assert summarize([], since=0).median_tokens_per_second is None
