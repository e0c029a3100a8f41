"""Labelling many items (the lines of a file, many files, or plain items) with a fixed set of labels.

Items go in batches of at most `LABEL_BATCH`, sized to the model's context; each batch is one request whose
`format` is a JSON schema demanding exactly one allowed label per item, sent with the runner's bounded
parallelism. A batch whose answer does not validate is asked once more, then the call fails.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial

from .errors import MaterialError
from .fitting import FIT_BYTES_PER_TOKEN, fit_tokens
from .material import SYSTEM, Runner, Task, json_problem, run_all

LABEL_BATCH = 40  # items per labelling request at most


async def label_entries(
    run: Runner, entries: Sequence[tuple[str, str]], labels: Sequence[str], instructions: str | None
) -> list[str]:
    """One label per entry, in batches sent with bounded parallelism; a batch that fails validation is retried once."""
    how = f" {instructions}" if instructions else ""
    base = Task(SYSTEM, "", answer_tokens=16, format=None)
    budget = max(256, run.budget(base) // 2)
    item_cap = budget // 4  # fit-tokens one item may take; longer items are cut for labelling
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for index, (_, content) in enumerate(entries):
        cost = min(fit_tokens(content), item_cap) + 4
        if current and (len(current) >= LABEL_BATCH or used + cost > budget):
            batches.append(current)
            current, used = [], 0
        current.append(index)
        used += cost
    if current:
        batches.append(current)
    chosen: list[str] = [""] * len(entries)
    done = 0
    limit_chars = item_cap * FIT_BYTES_PER_TOKEN

    async def one(number: int, batch: list[int]) -> None:
        nonlocal done
        schema = {
            "type": "object",
            "properties": {
                "labels": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(labels)},
                    "minItems": len(batch),
                    "maxItems": len(batch),
                }
            },
            "required": ["labels"],
        }
        listing = "\n".join(
            f"ITEM {k + 1}: {entries[i][1][:limit_chars].replace(chr(10), ' ')}" for k, i in enumerate(batch)
        )
        task = Task(
            SYSTEM,
            f"Label each of the {len(batch)} items above with exactly one of: {', '.join(labels)}.{how} Answer "
            f'JSON: {{"labels": [...]}} with one label per item, in order.',
            answer_tokens=16 + 12 * len(batch),
            format=schema,
        )
        import jsonschema  # only when labelling: a cost the server's start should not pay

        validator = jsonschema.Draft202012Validator(schema)
        problem: str | None = "not tried"
        for attempt in range(2):
            note = task.instruction if attempt == 0 else f"{task.instruction}\nA first answer was invalid: {problem}."
            answer = await run.complete(task, listing, note)
            problem = json_problem(validator, answer)
            if problem is None:
                for i, label in zip(batch, json.loads(answer)["labels"], strict=True):
                    chosen[i] = label
                break
        if problem is not None:
            raise MaterialError(
                f"The local model's labels for items {entries[batch[0]][0]}..{entries[batch[-1]][0]} did not validate "
                f"twice ({problem}). Label these items yourself, or use fewer labels."
            )
        done += 1
        await run.report(done, len(batches), f"part {number + 1}/{len(batches)}: {entries[batch[0]][0]}")

    run.tally.parts = len(batches)
    await run_all([partial(one, number, batch) for number, batch in enumerate(batches)])
    return chosen
