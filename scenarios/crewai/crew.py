"""A sequential CrewAI crew of two agents with custom tools, run by scenarios/crewai/scenario.ts.

The analyst sums a region's sales from a CSV with the `sum_sales` tool; the writer gets the
analyst's answer as task context and records it with the `write_report` tool. Tools append every
call to calls.jsonl in the work folder, and write_report writes report.json there: the scenario
checks those files, not the crew's wording.

Environment: GONKA_BASE_URL (…/v1), GONKA_API_KEY, GONKA_MODEL, GONKA_SESSION_ID, WORKDIR and
CREW_MODE: `native` (OpenAI tool calling) or `react` (CrewAI's text ReAct path: an LLM that says
it cannot call functions gets tools described in the prompt and answers with Action/Observation).
"""

import csv
import json
import os
import sys

from crewai import LLM, Agent, Crew, Process, Task
from crewai.llms.providers.openai.completion import OpenAICompletion
from crewai.tools import BaseTool
from pydantic import BaseModel, Field

WORKDIR = os.environ["WORKDIR"]
MODE = os.environ.get("CREW_MODE", "native")


def log_call(name: str, args: dict) -> None:
    with open(os.path.join(WORKDIR, "calls.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps({"tool": name, "args": args}) + "\n")


class SumSalesInput(BaseModel):
    region: str = Field(description="sales region, e.g. EMEA")


class SumSales(BaseTool):
    name: str = "sum_sales"
    description: str = "Sums the sales amounts of one region from sales.csv."
    args_schema: type[BaseModel] = SumSalesInput

    def _run(self, region: str) -> str:
        log_call(self.name, {"region": region})
        with open(os.path.join(WORKDIR, "sales.csv"), encoding="utf-8") as f:
            total = sum(float(r["amount"]) for r in csv.DictReader(f) if r["region"] == region)
        return f"{total:.2f}"


class WriteReportInput(BaseModel):
    region: str = Field(description="sales region")
    total: float = Field(description="total sales of the region")


class WriteReport(BaseTool):
    name: str = "write_report"
    description: str = "Writes the sales report of a region (its total) to report.json."
    args_schema: type[BaseModel] = WriteReportInput

    def _run(self, region: str, total: float) -> str:
        log_call(self.name, {"region": region, "total": total})
        with open(os.path.join(WORKDIR, "report.json"), "w", encoding="utf-8") as f:
            json.dump({"region": region, "total": total}, f)
        return "report written"


class TextOnlyOpenAI(OpenAICompletion):
    """The same OpenAI-compatible client, declared unable to call functions: CrewAI falls back to
    its text ReAct prompt, as it does for models without tool calling."""

    def supports_function_calling(self) -> bool:
        return False


def make_llm():
    common = dict(
        base_url=os.environ["GONKA_BASE_URL"],
        api_key=os.environ["GONKA_API_KEY"],
        default_headers={"X-Session-Id": os.environ["GONKA_SESSION_ID"]},
        max_retries=1,
        timeout=60,
    )
    model = os.environ.get("GONKA_MODEL", "kimi-k2.5")
    if MODE == "react":
        return TextOnlyOpenAI(model=model, **common)
    return LLM(model=f"openai/{model}", **common)


def main() -> int:
    llm = make_llm()
    analyst = Agent(
        role="Sales analyst",
        goal="Compute exact sales totals with the sum_sales tool",
        backstory="You never guess numbers; you always use the sum_sales tool.",
        tools=[SumSales()],
        llm=llm,
        max_iter=4,
        allow_delegation=False,
        verbose=False,
    )
    writer = Agent(
        role="Report writer",
        goal="Record the analyst's totals with the write_report tool",
        backstory="You record figures exactly as the analyst gave them.",
        tools=[WriteReport()],
        llm=llm,
        max_iter=4,
        allow_delegation=False,
        verbose=False,
    )
    analyse = Task(
        description="Compute the total sales of region EMEA with the sum_sales tool.",
        expected_output="The EMEA total as a number with two decimals.",
        agent=analyst,
    )
    report = Task(
        description="Record the EMEA sales total computed by the analyst with the write_report tool.",
        expected_output="A confirmation that the report was written.",
        agent=writer,
        context=[analyse],
    )
    crew = Crew(agents=[analyst, writer], tasks=[analyse, report], process=Process.sequential, verbose=False)
    result = crew.kickoff()
    print(json.dumps({"event": "crew_done", "result": str(result), "tasks": [str(t.output) for t in [analyse, report]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
