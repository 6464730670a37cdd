"""`supportbot`: ask, chat, index and check prompts from a terminal.

Output meant for people goes through rich; `--json` output goes to stdout alone, with progress
and logs on stderr, so it can be piped.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.evaluation.harness import DEFAULT_CORPUS, DEFAULT_OFFTOPIC, DEFAULT_QUESTIONS
from bot.knowledge.embeddings import EmbeddingsError
from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.indexer import IndexSummary, ReindexError
from bot.knowledge.stores.weaviate.tenancy import tenant_scope
from bot.logs import configure_from_settings
from bot.prompts import SAMPLE_VALUES, SPECS, PromptError, load_prompt_set, placeholders_of
from bot.service import SupportBot
from bot.settings import Settings, SettingsError, load_settings
from bot.types import Answer, Audience, ConversationKey, Escalation, Inquiry

app = typer.Typer(help="supportbot: answers from your policy documents, with sources.",
                  no_args_is_help=True, add_completion=False)
prompts_app = typer.Typer(help="Work with the prompt files.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
out = Console()
err = Console(stderr=True)
USER_ERRORS = (SettingsError, PromptError, EmbeddingsError, ReindexError, IndexStoreError)
STAGE_LABELS = {"load": "Loading documents", "split": "Splitting", "embed": "Embedding chunks"}

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="Settings file (TOML).")]


def friendly_errors(command: Callable) -> Callable:
    """Known problems become one clear message and exit code 2, never a traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            err.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)  # paths stay whole
            raise typer.Exit(2) from None

    return wrapper


def _settings(config: Path | None) -> Settings:
    settings = load_settings(config)
    configure_from_settings(settings, long_running=False)
    return settings


def _bot(settings: Settings, *, long_running: bool = False) -> SupportBot:
    from bot.wiring import build_bot  # loads the embedding model: only for commands that need it

    return build_bot(settings, long_running=long_running)


TenantOption = Annotated[str | None, typer.Option(
    "--tenant", help="With weaviate.multi_tenancy: the Slack team / Discord server id.")]


@contextmanager
def _progress_bars(labels: dict[str, str]) -> Iterator[Callable[[str, int, int], None]]:
    """An on_progress(stage, done, total) callback drawing one bar per stage on stderr."""
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        tasks: dict[str, int] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield on_progress


def _run_index(bot: SupportBot, full: bool, tenant: str | None = None) -> IndexSummary:
    with _progress_bars(STAGE_LABELS) as on_progress:
        return bot.reindex(full=full, on_progress=on_progress, tenant=tenant)


def _print_summary(summary: IndexSummary, console: Console) -> None:
    table = Table(title=f"Index generation {summary.generation}" + (" (full rebuild)" if summary.full else ""),
                  show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in (("documents added", summary.added), ("updated", summary.updated),
                        ("unchanged", summary.unchanged), ("deleted", summary.deleted),
                        ("files skipped", len(summary.errors)), ("documents in the index", summary.documents_total),
                        ("chunks embedded", summary.chunks_embedded), ("chunks in the index", summary.chunks_total),
                        ("seconds", f"{summary.seconds:.1f}")):
        table.add_row(what, str(count))
    console.print(table)
    if summary.errors:
        skipped = Table(title="Skipped files (a file indexed before keeps its earlier text)", title_justify="left")
        skipped.add_column("file", overflow="fold")
        skipped.add_column("what to do", overflow="fold")
        for error in summary.errors:
            skipped.add_row(Text(error.path), Text(error.problem))
        console.print(skipped)
    if summary.warnings:
        missing = Table(title="Indexed without a link or title (customers see the title alone, or one "
                              "made from the file name), or with metadata made safe", title_justify="left")
        missing.add_column("file", overflow="fold")
        missing.add_column("missing")
        missing.add_column("problem", overflow="fold")
        for warning in summary.warnings:
            missing.add_row(Text(warning.path), ", ".join(warning.missing), Text("; ".join(warning.problems)))
        console.print(missing)
        console.print("Add url and title to the front matter (Markdown), to sources.toml beside the file "
                      "(PDF, text) or to the page (HTML), or give the folder a base_url in [[knowledge]].",
                      highlight=False)


def _ensure_index(bot: SupportBot, tenant: str | None = None) -> None:
    with tenant_scope(tenant):
        empty = bot.index.generation() == 0
    if empty:
        err.print("[dim]First run: indexing the knowledge base…[/]")
        _print_summary(_run_index(bot, full=False, tenant=tenant), err)


@app.command()
@friendly_errors
def index(full: Annotated[bool, typer.Option("--full", help="Re-embed everything.")] = False,
          strict: Annotated[bool, typer.Option("--strict", help="Exit 1 if any file was skipped.")] = False,
          config: ConfigOption = None, tenant: TenantOption = None) -> None:
    """Index the knowledge base: only new and changed documents are embedded.

    Exits 0 when it indexed what it could (skipped files are listed), 1 when the index holds no
    document afterwards (so a release step never ships an empty index) or, with --strict, when
    any file was skipped; 2 for a problem that stopped it (settings, an unreachable index).
    """
    bot = _bot(_settings(config))
    summary = _run_index(bot, full, tenant)
    _print_summary(summary, out)
    if summary.documents_total == 0:
        err.print("[bold red]Nothing usable was indexed:[/] the knowledge folders hold no readable "
                  "document. Check [[knowledge]] paths in the settings file and the skipped files above.")
        raise typer.Exit(1)
    if strict and summary.errors:
        err.print(f"[bold red]{len(summary.errors)} file(s) skipped[/] (--strict); the rest is indexed.")
        raise typer.Exit(1)


@app.command()
@friendly_errors
def ask(question: Annotated[str, typer.Argument(help="The question, in quotes.")],
        audience: Annotated[Audience, typer.Option(help="Who is asking.")] = Audience.PUBLIC,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
        config: ConfigOption = None, tenant: TenantOption = None) -> None:
    """Answer one question from the policies, with numbered sources."""
    bot = _bot(_settings(config))
    _ensure_index(bot, tenant)
    inquiry = Inquiry(text=question, conversation=ConversationKey("cli", "ask", uuid.uuid4().hex),
                      user_id="cli", audience=audience, tenant=tenant)
    answer = asyncio.run(_closing(bot, _answer(bot, inquiry, live=not as_json)))
    if as_json:
        sys.stdout.write(json.dumps(answer_json(answer), indent=2, ensure_ascii=False) + "\n")
    else:
        print_answer(answer)


def answer_json(answer: Answer) -> dict:
    data = answer.to_dict()
    data["sources"] = [{"number": s.number, "title": s.title, "url": s.url,
                        "document_id": s.document_id, "heading": s.heading} for s in answer.sources]
    return data


async def _closing(bot: SupportBot, work: Awaitable[Any]) -> Any:
    """The work, then the bot closed in the same event loop: Redis, and the model's aiohttp
    session, which would otherwise be reported unclosed when the process exits."""
    try:
        return await work
    finally:
        await bot.close()


async def _answer(bot: SupportBot, inquiry: Inquiry, live: bool) -> Answer:
    if not live or bot.answerer is None:
        return await bot.answer(inquiry)
    streamed: list[str] = []
    with Live(Markdown(""), console=out, transient=True, refresh_per_second=12) as view:
        async def show(delta: str) -> None:
            streamed.append(delta)
            view.update(Markdown("".join(streamed)))

        return await bot.answer(inquiry, on_delta=show)


def print_answer(answer: Answer) -> None:
    out.print(Markdown(answer.text))
    if answer.sources:
        out.print()
        out.print("[bold]Sources[/]")
        for source in answer.sources:
            section = f" ({source.heading})" if source.heading and source.heading != source.title else ""
            link = f" - {source.url}" if source.url else ""
            out.print(Text(f"  [{source.number}] {source.title}{section}{link}"))
    if not answer.grounded:
        out.print("\n[cyan]Want a person to help? In Slack or Discord press \"Talk to a human\"; "
                  "in `supportbot chat` type /human.[/]")
    origin = "cache" if answer.cached else answer.mode
    out.print(f"[dim]{origin} · prompts {answer.prompt_version} · "
              f"{answer.timings_ms.get('total', 0):.0f} ms[/]")


@app.command()
@friendly_errors
def chat(audience: Annotated[Audience, typer.Option(help="Who is asking.")] = Audience.PUBLIC,
         thread: Annotated[str, typer.Option(help="Thread name; with REDIS_URL set, the same name "
                                             "continues its memory across runs.")] = "",
         config: ConfigOption = None) -> None:
    """An interactive session with thread memory. /human shows what an escalation would send."""
    bot = _bot(_settings(config), long_running=True)
    _ensure_index(bot)
    asyncio.run(_closing(bot, _chat(bot, audience, thread or getpass.getuser())))


CHAT_HELP = "Ask a question. Commands: /human (hand over), /resolve, /new (new thread), /quit."


async def _chat(bot: SupportBot, audience: Audience, thread: str) -> None:
    conversation = ConversationKey("cli", "chat", thread)
    out.print(f"[bold]{bot.settings.company_name} support[/] ({audience} audience). {CHAT_HELP}")
    if earlier := await bot.history(conversation, audience):
        out.print(f"[dim]Continuing thread '{thread}' ({len(earlier)} earlier messages); "
                  "/new starts afresh.[/]")
    escalation = await bot.open_escalation(conversation)
    last_answer_id: str | None = None
    while True:
        try:
            text = (await asyncio.to_thread(out.input, "\n[bold green]you ›[/] ")).strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if text in ("/quit", "/exit"):
            return
        if text in ("/help", ""):
            out.print(CHAT_HELP)
        elif text == "/new":
            await bot.forget(conversation)
            conversation, escalation = ConversationKey("cli", "chat", uuid.uuid4().hex), None
            out.print("[dim]New thread: the bot has forgotten the previous one.[/]")
        elif text == "/human":
            escalation = await bot.escalate(conversation, requested_by="cli-user", answer_id=last_answer_id)
            print_escalation(escalation)
        elif text == "/resolve":
            if escalation:
                await bot.resolve(escalation.escalation_id, resolved_by="cli-staff")
                escalation = None
                out.print("[dim]Resolved: the bot answers in this thread again.[/]")
        elif escalation is not None:
            out.print("[dim]This thread is with the support team; the bot stays quiet until /resolve.[/]")
        else:
            answer = await _answer(bot, Inquiry(text=text, conversation=conversation,
                                                user_id="cli-user", audience=audience), live=True)
            last_answer_id = answer.answer_id
            print_answer(answer)


def print_escalation(escalation: Escalation) -> None:
    lines = [f"[bold]Asked by:[/] {escalation.requested_by}",
             f"[bold]Question:[/] {escalation.question or '(none yet)'}", "", "[bold]Transcript[/]"]
    lines += [f"  {turn.role}: {turn.text}" for turn in escalation.transcript] or ["  (empty)"]
    if escalation.last_answer and escalation.last_answer.sources:
        lines += ["", "[bold]Sources of the last answer[/]"]
        lines += [f"  [{s.number}] {s.title}" + (f" - {s.url}" if s.url else "")
                  for s in escalation.last_answer.sources]
    out.print(Panel("\n".join(lines), title="What the staff channel receives", highlight=False))
    out.print(Panel(escalation.acknowledgement, title="What the asker is told"))


@app.command("eval")
@friendly_errors
def eval_command(
    corpus: Annotated[Path, typer.Option(help="Knowledge base: JSONL with id, title, text per line.")]
        = DEFAULT_CORPUS,
    questions: Annotated[Path, typer.Option(help="Questions JSONL (doc2dial form, with history and gold).")]
        = DEFAULT_QUESTIONS,
    offtopic: Annotated[Path | None, typer.Option(help="Off-topic requests JSONL (id, text).")]
        = DEFAULT_OFFTOPIC,
    subset: Annotated[str | None, typer.Option(help="'small': the questions flagged subset_small.")] = None,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report (Markdown beside it).")]
        = Path("reports/eval.json"),
    config: ConfigOption = None,
) -> None:
    """Measure retrieval, decline decisions, citations and latency on a question set, beside baselines."""
    from bot.evaluation.datasets import EvalDataError
    from bot.evaluation.harness import EvalRequest, run_evaluation
    from bot.evaluation.report import rich_tables, write_reports

    settings = _settings(config)
    request = EvalRequest(corpus=corpus, questions=questions, offtopic=offtopic, subset=subset)
    try:
        labels = {**STAGE_LABELS, "ask": "Asking questions", "cross-validate": "Cross-validating"}
        with _progress_bars(labels) as on_progress:
            result, cases = asyncio.run(run_evaluation(settings, request, on_progress=on_progress))
    except EvalDataError as exc:
        err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    for table in rich_tables(result):
        out.print(table)
    written = write_reports(result, report, [case.to_record() for case in cases])
    out.print("Reports: " + ", ".join(str(path) for path in written), highlight=False)
    validity = result["citation_validity"]
    if validity is None or validity < 1.0:
        err.print(f"[bold red]Citation validity is {validity}; every cited number must map to a "
                  "retrieved source.[/]")
        raise typer.Exit(1)


@app.command()
@friendly_errors
def report(since: Annotated[str, typer.Option(help="The period: 7d, 24h, 90m, 2w.")] = "7d",
           html: Annotated[Path, typer.Option(help="Where to write the HTML report.")] = Path("reports/report.html"),
           markdown: Annotated[Path | None, typer.Option(help="Also write the Markdown here.")] = None,
           config: ConfigOption = None, tenant: TenantOption = None) -> None:
    """For support leads: questions asked, answered / declined / handed-over rates per day, helpful
    rate per prompt version, cache hits, and the knowledge gaps (questions grouped by meaning)."""
    from bot.reporting import html as html_report
    from bot.reporting import markdown as markdown_report
    from bot.reporting.records import PeriodError, parse_period
    from bot.state.connection import StateUnavailable

    try:
        period = parse_period(since)
    except PeriodError as exc:
        err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    bot = _bot(_settings(config))
    if not bot.state.redis.shared:
        err.print("[yellow]REDIS_URL is not set:[/] the report reads the bot's logs from the Redis its "
                  "workers use. Set REDIS_URL to that Redis.", highlight=False)
    try:
        from bot.reporting import build_report

        built = asyncio.run(_closing(bot, build_report(bot, period, tenant=tenant)))
    except StateUnavailable:
        err.print(f"[bold red]Error:[/] Redis ({bot.state.redis.description}) does not answer; the report "
                  "reads its logs from there. Check REDIS_URL and that Redis is running.", highlight=False)
        raise typer.Exit(2) from None
    text = markdown_report.render(built)
    out.print(Markdown(text))
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text, encoding="utf-8")
    out.print(f"HTML report: {html_report.write(built, html)}", highlight=False, soft_wrap=True)


@prompts_app.command("check")
@friendly_errors
def prompts_check(config: ConfigOption = None,
                  preview: Annotated[bool, typer.Option(help="Show each prompt filled in with sample "
                                                        "values, as the bot sends it.")] = True) -> None:
    """Validate the prompt files, list their placeholders and version, and preview them filled in."""
    settings = _settings(config)
    prompt_set = load_prompt_set(settings.prompts_dir)
    out.print(Text(f"Prompts in {settings.prompts_dir} (version {prompt_set.version})", style="bold"))
    table = Table()
    table.add_column("file")
    table.add_column("placeholders used")
    table.add_column("purpose")
    for name, spec in SPECS.items():
        used = placeholders_of(name, prompt_set.texts[name])
        table.add_row(name, ", ".join(f"{{{p}}}" for p in sorted(used)) or "-", spec.purpose)
    out.print(table)
    if preview:
        samples = {**SAMPLE_VALUES, "company_name": settings.company_name}
        for name in SPECS:
            # Text, not markup: a prompt's [1] or [bold] is shown as written.
            out.print(Panel(Text(prompt_set.render(name, **samples)), title=f"{name}, with sample values",
                            title_align="left"))
    out.print("[green]All prompt files are valid.[/]")


def main() -> None:
    app()
