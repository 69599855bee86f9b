"""Review items that come from the inputs, not from a drafter.

A plan drafted without a usable constitution looks as complete as any other: its Compliance
Check simply has nothing to check. The reader of the plan (not only whoever watched stderr)
must see that, so it is an Open Issue whatever drafted the sections.
"""

from __future__ import annotations

from drafter.drafting import DraftInputs
from drafter.drafting.messages import Messages, prose_language
from drafter.model import plan as p


def input_reviews(inputs: DraftInputs) -> list[p.ReviewItem]:
    """What the plan's reader must know about the constitution it was drafted with."""
    _ = Messages(prose_language(inputs.spec))
    if inputs.constitution is None:
        text = _(
            "No constitution was found: add one (constitution.md beside the spec or "
            ".specify/memory/constitution.md) so the Compliance Check means something."
        )
    elif inputs.constitution.unfilled:
        text = _(
            "The constitution {name} is still the unfilled template: no rule was taken from "
            "it, so the Compliance Check assesses nothing. Fill it in and draft again.",
            name=inputs.constitution.path.name,
        )
    else:
        return []
    return [p.ReviewItem(text=text)]
