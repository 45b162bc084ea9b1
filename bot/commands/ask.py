"""`/paper ask <id> <question>`: an answer from the paper's text, with the passage it rests on.

Why this exists: one family module per kind of command; this one reaches the
language model (`bot.ask`), so it is slow (seconds) and spends the daily budget.

Where the answer goes: to the requester only (ephemeral on Slack and Discord,
both of which defer a slow answer already). A slash command leaves no message
of the requester's to thread under, and posting the question into the channel
on their behalf would be the bot speaking for them; a "Share" button would
re-run the question and spend the budget twice, so there is none. Who wants
to share an answer copies it, passage and all.
"""

from __future__ import annotations

from bot.commands.model import COMMAND_PREFIX, Command, CommandContext, CommandRequest, Completion, Param, Visibility
from bot.models import ErrorReply, Reply

NOT_SET_UP = ErrorReply(
    "Questions need the language model, and this bot has none set up.",
    "Its owner enables [notes] in the config and sets OPENAI_API_KEY or OPENAI_BASE_URL.",
)


async def _ask(context: CommandContext, request: CommandRequest) -> Reply:
    paper = await context.service.show(str(request.args.get("paper", "")))
    # Loaded only now: it brings the model's client (openai, the [llm] extra), which a bot
    # without a model may not have installed; every other command works without it.
    try:
        from bot.ask import BudgetSpent, answer_reply, check_question
        from bot.llm_notes import PaperFailed, ServiceFailed
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] == "bot":
            raise
        return NOT_SET_UP
    question = check_question(str(request.args.get("question", "")))
    if context.asker is None:
        return NOT_SET_UP
    try:
        answer = await context.asker.ask(paper, question)
    except BudgetSpent as error:
        return ErrorReply(
            f"No answer now: {error.message}.", "Try again tomorrow, or ask the bot's owner to raise [notes] daily_budget."
        )
    except ServiceFailed as error:
        return ErrorReply(f"No answer now: the language model cannot be reached ({error.message}).", "Try again later.")
    except PaperFailed as error:
        return ErrorReply(f"No usable answer about {paper.arxiv_id}: {error.message}.", "Try asking in other words.")
    return answer_reply(answer, paper.url)


ASK = Command(
    "ask",
    "Ask a question about one paper; answered from its full text, quoting it",
    _ask,
    (
        Param(
            "paper",
            "An arXiv id such as 2505.20665, or an arxiv.org link",
            "paper id",
            required=True,
            completion=Completion.PAPER,
            metavar="ID",
        ),
        Param("question", "What you want to know about the paper", "question", required=True, rest=True),
    ),
    examples=(f"{COMMAND_PREFIX} ask 2505.20665 which datasets are used?",),
    visibility=Visibility.PRIVATE,
)

COMMANDS = (ASK,)
