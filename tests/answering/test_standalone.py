"""The deterministic follow-up rewrite: context kept beside the message, and split back apart."""

from bot.answering.standalone import compose_standalone, deterministic_standalone, is_follow_up, split_standalone
from bot.types import Turn


def test_earlier_user_messages_are_kept_as_context():
    history = [Turn("user", "Can I return a tent?"), Turn("assistant", "Yes, within 30 days [1]."),
               Turn("user", "  What about\nboots? ")]
    standalone = deterministic_standalone("and after 30 days?", history)
    assert standalone == "and after 30 days? (earlier: Can I return a tent? / What about boots?)"
    assert split_standalone(standalone) == ("and after 30 days?", ["Can I return a tent?", "What about boots?"])


def test_only_the_last_remembered_user_messages_are_used():
    history = [Turn("user", f"question {n}") for n in range(10)]
    _, earlier = split_standalone(deterministic_standalone("next?", history))
    assert earlier == ["question 6", "question 7", "question 8", "question 9"]


def test_a_first_message_stays_as_asked():
    assert deterministic_standalone(" How do I return an item? ", []) == "How do I return an item?"
    assert split_standalone("How do I return an item? (see page 2)") == ("How do I return an item? (see page 2)", [])
    assert compose_standalone("q", []) == "q"


def test_replies_and_pointers_are_follow_ups_and_full_questions_are_not():
    for message in ("yes", "No, I am married now.", "ok tell me the conditions", "What about Canada?",
                    "Is there more I should know?", "how much is it?", "you said two years?"):
        assert is_follow_up(message), message
    for message in ("What's the weather in Paris?", "How do I renew a commercial driver license?",
                    "Which documents prove my child's citizenship?"):
        assert not is_follow_up(message), message


def test_a_follow_up_that_names_a_new_object_replaces_the_old_one():
    cases = [
        ("Can I return an opened item after 30 days?", "and what about sale items?", "Can I return sale items?"),
        ("How long does shipping take to the US?", "what about Canada?", "How long does shipping take to Canada?"),
        ("Can I return opened items?", "same for gift cards?", "Can I return gift cards?"),
        ("Do you ship to PO boxes?", "And how about military addresses", "Do you ship to military addresses?"),
        ("What documents do I need for a driver license?", "what about a learner permit?",
         "What documents do I need for a learner permit?"),
        ("How much does the return label cost?", "and for Canada?", "How much does the return label cost for Canada?"),
        ("How long does shipping take to the US?", "and for Canada?", "How long does shipping take to Canada?"),
    ]
    for earlier, follow_up, rewritten in cases:
        standalone = deterministic_standalone(follow_up, [Turn("user", earlier), Turn("assistant", "…")])
        assert split_standalone(standalone) == (rewritten, [earlier]), follow_up


def test_the_object_is_taken_from_the_last_question_that_stands_on_its_own():
    history = [Turn("user", "Can I return opened items?"), Turn("user", "yes, it was used once")]
    question, _ = split_standalone(deterministic_standalone("what about gift cards?", history))
    assert question == "Can I return gift cards?"


def test_replies_and_first_messages_are_not_rewritten():
    history = [Turn("user", "Can I return an opened item after 30 days?")]
    for message in ("yes it was opened", "and after 60 days?", "what about it?"):
        assert split_standalone(deterministic_standalone(message, history))[0] == message
    assert deterministic_standalone("what about gift cards?", []) == "what about gift cards?"


async def test_a_new_object_in_a_thread_is_answered_from_its_own_section(sample_settings, embeddings):
    from bot.types import ConversationKey, Inquiry
    from bot.wiring import build_bot

    bot = build_bot(sample_settings, embeddings=embeddings, answerer=None, long_running=False)
    thread = ConversationKey("test", "c", "sale-items")
    await bot.answer(Inquiry(text="Can I return an opened item after 30 days?", conversation=thread, user_id="u"))
    answer = await bot.answer(Inquiry(text="and what about sale items?", conversation=thread, user_id="u"))
    assert answer.standalone_question.startswith("Can I return sale items?")
    assert answer.sources[0].heading.endswith("Final-sale items")
    assert "Clearance items" in answer.text and "Personalised items" in answer.text
    assert "resellable condition" not in answer.text  # nothing quoted from the 30-day section


def test_a_reply_to_the_assistant_searches_with_the_start_of_what_it_said():
    asked = "Are you applying for Medicare only, or for retirement benefits as well? " + "More detail. " * 40
    history = [Turn("user", "I'm thinking about retirement"), Turn("assistant", asked)]
    _, earlier = split_standalone(deterministic_standalone("no, neither of those", history))
    assert earlier[0] == "I'm thinking about retirement"
    reply = earlier[1]
    assert asked.startswith(reply) and asked[len(reply)] == " "  # cut at a word, not mid-word
    assert 290 < len(reply) <= 300
    # "what about it?" names nothing new: still a reply to what the assistant said.
    assert split_standalone(deterministic_standalone("what about it?", history))[1][1] == reply


def test_no_assistant_context_for_a_new_object_or_when_the_user_spoke_last():
    history = [Turn("user", "Can I return an opened item after 30 days?"),
               Turn("assistant", "Opened items are accepted within 30 days in resellable condition.")]
    assert split_standalone(deterministic_standalone("and what about sale items?", history))[1] == [history[0].text]
    assert split_standalone(deterministic_standalone("yes", history[:1]))[1] == [history[0].text]
    assert split_standalone(deterministic_standalone("yes", history))[1] == [history[0].text, history[1].text]
