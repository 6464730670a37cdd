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
