"""Follow-ups that lean on the conversation: "cancel it" after an order was discussed, a
tracking request after a cancellation offer, an unplaced message naming a task and a number."""

from __future__ import annotations

import sqlite_utils
from test_dialogue_fakes import ScriptedNLU, demo_assistant

CUSTOMER = "sun.yue@example.com"  # owns 10066 (in transit) and 10115 (paid)


def test_cancel_it_after_tracking_is_about_that_order(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("where is my order 10115?", "track_order", 0.99, ("order_number", "10115", "10115"))
        .say("can you cancel it?", "cancel_order", 0.95)
        .say("能把它取消吗", "cancel_order", 0.95)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "where is my order 10115?", customer=CUSTOMER)
    r = bot.turn("s", "can you cancel it?")
    assert r.state["flow"] == "cancel_order" and r.state["step"] == "confirm"
    assert "10115" in r.reply and "If you tell me the order number" not in r.reply
    bot.turn("z", "where is my order 10115?", customer=CUSTOMER)
    r = bot.turn("z", "能把它取消吗")
    assert r.state["step"] == "confirm" and "10115" in r.reply


def test_a_tracking_request_after_a_cancel_offer_tracks(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("how do I cancel an order?", "cancel_order", 0.95)
        .say("帮我查一下订单10066", "track_order", 0.99, ("order_number", "10066", "10066"))
        .say("10115", "out_of_scope", 0.4, ("order_number", "10115", "10115"))
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", "how do I cancel an order?", customer=CUSTOMER)
    assert r.action == "policy.howto.cancel_order"
    r = bot.turn("s", "帮我查一下订单10066")
    assert r.action == "order.tracked"
    bot.turn("s", "how do I cancel an order?")
    r = bot.turn("s", "10115")  # a bare number still takes the offer
    assert r.state["flow"] == "cancel_order"


def test_an_unplaced_message_with_a_number_and_a_task_word_does_that_task(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("订单10066的发票", "out_of_scope", 0.4, ("order_number", "10066", "10066"))
        .say(
            "cancel 10115, my email is sun.yue@example.com",
            "out_of_scope",
            0.7,
            ("order_number", "10115", "10115"),
            ("email", "sun.yue@example.com", "sun.yue@example.com"),
        )
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("a", "订单10066的发票", customer=CUSTOMER)
    assert r.action == "invoice.shown" and "INV-" in r.reply
    r = bot.turn("b", "cancel 10115, my email is sun.yue@example.com")
    assert r.state["flow"] == "cancel_order" and r.state["step"] == "confirm"


def test_a_chinese_change_confirmation_names_the_product_in_chinese(
    demo_db: sqlite_utils.Database,
) -> None:
    ask, change = "我想修改订单10119", "把数量改成2件"
    nlu = (
        ScriptedNLU()
        .say(ask, "change_order", 0.99, ("order_number", "10119", "10119"))
        .say(change, "change_order", 0.9, ("quantity", "2件", 2))
    )
    title_zh = demo_db.execute(
        "select p.title_zh from order_items i join orders o on o.id = i.order_id "
        "join variants v on v.id = i.variant_id join products p on p.id = v.product_id "
        "where o.number = '10119'"
    ).fetchone()[0]
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", ask, customer=CUSTOMER)
    r = bot.turn("s", change)
    assert r.state["step"] == "confirm" and title_zh in r.reply


def test_a_correction_with_a_number_is_not_turned_into_a_clarifying_question(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = ScriptedNLU().say("track 10066", "track_order", 0.99, ("order_number", "10066", "10066"))
    nlu.say("sorry, 10115", "product_search", 0.5, ("order_number", "10115", "10115"))
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "track 10066", customer=CUSTOMER)
    # The classifier hesitated between two topics; the number is the correction.
    understood = nlu.understand("sorry, 10115")
    nlu.understand = lambda text, today=None: understood.model_copy(  # type: ignore[method-assign]
        update={"clarify": ["product_search", "goodbye"]}
    )
    r = bot.turn("s", "sorry, 10115")
    assert r.action == "order.tracked" and "10115" in r.reply


def test_a_price_after_a_list_narrows_that_kind(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say("headphones", "product_search", 0.95)
        .say(
            "under $50",
            "product_search",
            0.9,
            ("money", "$50", {"amount": 50.0, "currency": "USD"}),
        )
    )
    bot = demo_assistant(demo_db, nlu)
    listed = bot.turn("s", "headphones")
    kinds = {s.title for s in listed.sources if s.kind == "product"}
    assert kinds
    r = bot.turn("s", "under $50")
    assert r.action == "products.listed" and r.resolved
    paths = {
        demo_db.execute(
            "select c.path from products p join categories c on c.id = p.category_id "
            "where p.id = ?",
            [int(s.id.split(":")[1])],
        ).fetchone()[0]
        for s in r.sources
        if s.kind == "product"
    }
    assert paths == {"Audio > Headphones"}


def test_a_low_stock_note_stays_with_the_digression_and_the_reply_ends_with_the_question(
    demo_db: sqlite_utils.Database,
) -> None:
    ask, side = "cancel order 10115", "wait, does the AeroBuds Lite come in mint?"
    nlu = (
        ScriptedNLU()
        .say(ask, "cancel_order", 0.99, ("order_number", "10115", "10115"))
        .say(
            side, "product_info", 0.95, ("product", "AeroBuds Lite", 2), ("colour", "mint", "Mint")
        )
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", ask, customer=CUSTOMER)
    r = bot.turn("s", side)
    assert "low_stock_note" in r.rules and r.state["step"] == "confirm"
    assert r.reply.endswith("Shall I cancel it?")
    assert r.reply.index("left") < r.reply.index("Back to your")


def test_deleting_an_account_asked_how_answers_and_asked_for_opens_one_request(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("how do I delete my account?", "delete_account", 0.95)
        .say("please delete my account", "delete_account", 0.95)
        .say("怎么注销账户", "delete_account", 0.95)
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", "how do I delete my account?", customer=CUSTOMER)
    assert r.action == "faq.delete_account"
    assert bot.turn("z", "怎么注销账户", customer=CUSTOMER).action == "faq.delete_account"
    assert demo_db.execute("select count(*) from tickets").fetchone()[0] == 0
    r = bot.turn("s", "please delete my account")
    assert r.action == "ticket.created" and "Ask here" not in r.reply
    assert demo_db.execute("select count(*) from tickets").fetchone()[0] == 1


def test_a_return_reason_given_with_the_order_number_is_not_asked_again(
    demo_db: sqlite_utils.Database,
) -> None:
    en = "it's order 10053, email ava.thompson@example.org, the size was wrong"
    zh = "我要退货，订单10053，尺码不对"
    nlu = (
        ScriptedNLU()
        .say("hi, I'd like to return something", "get_refund", 0.95)
        .say(
            en,
            "change_order",
            0.6,
            ("order_number", "10053", "10053"),
            ("email", "ava.thompson@example.org", "ava.thompson@example.org"),
        )
        .say(zh, "get_refund", 0.95, ("order_number", "10053", "10053"))
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "hi, I'd like to return something")
    r = bot.turn("s", en)
    # The reason is kept; what may still be asked is which items (the order has two).
    assert r.state["slots"]["reason"] == "the size was wrong"
    assert r.state["step"] in ("confirm", "collect:items") and "reason" not in r.reply
    assert "ava.thompson" not in r.reply
    r = bot.turn("z", zh, customer="ava.thompson@example.org")
    assert r.state["slots"]["reason"] == "尺码不对"
    assert r.state["step"] in ("confirm", "collect:items") and "原因" not in r.reply


def test_after_a_hand_off_the_open_task_is_not_resumed(demo_db: sqlite_utils.Database) -> None:
    nlu = (
        ScriptedNLU()
        .say(
            "I want to change order 10074", "change_order", 0.99, ("order_number", "10074", "10074")
        )
        .say("I want to talk to a human", "contact_human_agent", 0.99)
        .say("hello?", "greet", 0.99)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "I want to change order 10074")
    r = bot.turn("s", "I want to talk to a human")
    assert r.handoff and "change_order" in (r.handoff_summary or "")
    r = bot.turn("s", "hello?")
    assert "Back to your" not in r.reply and r.state["flow"] is None


def test_after_tracking_why_not_here_yet_and_how_long_answer_about_that_order(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("where is order 10074?", "track_order", 0.99, ("order_number", "10074", "10074"))
        .say("怎么还没到？？", "track_order", 0.9)
        .say("还要等多久", "delivery_period", 0.9)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "where is order 10074?", customer=CUSTOMER)
    r = bot.turn("s", "怎么还没到？？")
    assert r.action == "order.tracked" and "10074" in r.reply
    r = bot.turn("s", "还要等多久")
    assert r.action == "order.tracked" and "预计送达" in r.reply


def test_a_named_promotion_code_is_answered_about_that_code(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = ScriptedNLU().say("CYBER20能用在耳机上吗", "product_info", 0.8)
    r = demo_assistant(demo_db, nlu).turn("s", "CYBER20能用在耳机上吗")
    assert r.action == "promotions.listed" and "CYBER20" in r.reply
    assert "WINTER15" not in r.reply


def test_a_named_promotion_code_that_ended_says_so(demo_db: sqlite_utils.Database) -> None:
    from datetime import datetime

    nlu = ScriptedNLU().say("is CYBER20 still on?", "product_info", 0.8)
    r = demo_assistant(demo_db, nlu, now=datetime(2026, 12, 5, 9)).turn("s", "is CYBER20 still on?")
    assert "CYBER20 ended on 2026-11-30" in r.reply and "WINTER15" in r.reply


def test_a_corrected_order_number_while_waiting_for_the_address_is_not_the_address(
    demo_db: sqlite_utils.Database,
) -> None:
    ask, fix, address = (
        "我想把订单10115的地址改一下",
        "不对，我的意思是订单10119",
        "上海市浦东新区世纪大道100号，邮编200120",
    )
    nlu = (
        ScriptedNLU()
        .say(ask, "change_shipping_address", 0.99, ("order_number", "10115", "10115"))
        .say(fix, "deny", 0.8, ("order_number", "10119", "10119"))
        .say(address, "out_of_scope", 0.4)
    )
    bot = demo_assistant(demo_db, nlu)
    r = bot.turn("s", ask, customer=CUSTOMER)
    assert r.state["step"] == "collect:new_address"
    r = bot.turn("s", fix)
    assert r.state["step"] == "collect:new_address" and "不对" not in r.reply
    r = bot.turn("s", address)
    assert r.state["step"] == "confirm" and "10119" in r.reply
    assert "世纪大道100号" in r.reply and "200120" in r.reply


def test_a_hand_off_in_the_middle_of_a_task_does_not_end_with_the_tasks_question(
    demo_db: sqlite_utils.Database,
) -> None:
    nlu = (
        ScriptedNLU()
        .say("I want to cancel my order", "cancel_order", 0.99)
        .say("I don't know the number", "contact_customer_service", 0.9)
    )
    bot = demo_assistant(demo_db, nlu)
    bot.turn("s", "I want to cancel my order")
    r = bot.turn("s", "I don't know the number")
    assert r.handoff and "Back to your" not in r.reply and "order number" not in r.reply
