"""the plain-words page behind the results' verdict: how levers decides and what it guarantees."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template


class DecisionDocPages(Controller):
    path = "/how-levers-decides"
    include_in_schema = False

    @get()
    async def how_levers_decides(self) -> Template:
        return Template(template_name="results/how_levers_decides.html")
