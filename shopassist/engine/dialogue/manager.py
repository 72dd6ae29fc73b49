"""The dialogue manager: decides, per message, which flow speaks and with which slots.

It handles what sits between flows: cancelling ("never mind", "算了"), corrections ("no,
I meant order 10024"), confirmations (yes/no), digressions (a product question in the
middle of a return, after which the return resumes), slots given before they were asked
for, clarification between two intents, and prompt-injection attempts.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from shopassist.engine.dialogue import handlers
from shopassist.engine.dialogue.flows import (
    FlowContext,
    FlowSpec,
    load_flows,
    run_flow,
    spec_for_intent,
)
from shopassist.engine.dialogue.handlers.promotions import named_promo_codes
from shopassist.engine.dialogue.interpret import (
    PRODUCT_INTENTS,
    Situation,
    ends_with,
    follow_ups,
    interpret,
    is_short,
    thresholds,
)
from shopassist.engine.dialogue.lexicon import lexicon, looks_like_injection, matches
from shopassist.engine.dialogue.outcome import Outcome
from shopassist.engine.dialogue.product_query import ProductRequest
from shopassist.engine.dialogue.reason_text import clean_reason, reason_in_request
from shopassist.engine.dialogue.references import (
    named_product_ids,
    names_order_item,
    order_items_named,
    points_at_one,
)
from shopassist.engine.dialogue.templates import has_template, render
from shopassist.engine.nlu.order_numbers import is_not_order_number, reader_for
from shopassist.engine.nlu.result import Entity, IntentScore, NLUResult
from shopassist.engine.privacy import mask_pii
from shopassist.kb.orders import normalise_order_number

handlers.register_all()

_DIGITS = re.compile(r"(?<![\d.])#?(\d{4,14})(?![\d.])")
FREE_TEXT_MAX = 300
PRODUCT_FLOWS = PRODUCT_INTENTS


def intent_label(intent: str, language: str) -> str:
    key = f"label.{intent}"
    return render(key, language) if has_template(key, language) else intent.replace("_", " ")


def flow_label(flow: str, language: str) -> str:
    key = f"request.{flow}"
    return render(key, language) if has_template(key, language) else intent_label(flow, language)


def _without_identity(nlu: NLUResult) -> dict[str, Any]:
    """The message with emails and phones blanked out (same length, so spans stay right)."""
    text = nlu.text
    kept = []
    for e in nlu.entities:
        if e.type in ("email", "phone"):
            text = text[: e.start] + " " * (e.end - e.start) + text[e.end :]
        else:
            kept.append(e.model_dump(mode="json"))
    return {"text": text, "entities": kept}


def bare_numbers(nlu: NLUResult, db: Any = None) -> list[str]:
    """Runs of 4-14 digits outside every entity the message has (an email, a phone, a
    price or a date keep their digits): order numbers the extractor did not claim. With
    ``db``, digits that fit none of the shop's order-number shapes are not taken."""
    spans = [(e.start, e.end) for e in nlu.entities]
    runs = [
        m
        for m in _DIGITS.finditer(nlu.text)
        if not any(a < m.end() and m.start() < b for a, b in spans)
    ]
    if not runs:
        return []  # checked first: the shop's shapes are only read when a run is left
    reader = reader_for(db) if db is not None else None
    return [
        m.group(1)
        for m in runs
        # a postcode, a phone, a year the order-number rules rule out
        if not is_not_order_number(nlu.text, *m.span(1), reader)
    ]


def bare_number(nlu: NLUResult, db: Any = None) -> str | None:
    found = bare_numbers(nlu, db)
    return found[0] if found else None


def _reason_clause(nlu: NLUResult) -> str | None:
    """The part of a message ("..., the size was wrong", "10043的耳机不想要了") that states a
    return reason, without the order number, email or phone given in the same breath."""
    text = nlu.text
    for e in sorted(nlu.entities, key=lambda e: -e.start):
        if e.type in ("order_number", "email", "phone", "invoice_number"):
            text = text[: e.start] + " " + text[e.end :]
    text = _DIGITS.sub(" ", text)
    for clause in re.split(r"[,，;；.。!！]", text):
        if matches(lexicon().reason_words, clause):
            # "10043的耳机不想要了" without the number leaves "的耳机...": no dangling particle.
            return " ".join(clause.split()).lstrip("的之里").strip() or None
    return None


def _street_address(text: str) -> bool:
    """A street address is in the text, as the PII masker finds one."""
    return "[address]" in mask_pii(text)


def _is_question(text: str) -> bool:
    return "?" in text or "？" in text or ends_with("question_end", text)


class DialogueManager:
    """Stateless: everything it knows about a conversation is in ``ctx.state``."""

    def decide(self, ctx: FlowContext) -> Outcome:
        out = self._decide(ctx)
        for command in follow_ups(out.action, ctx.text):
            # "it leaks" and the return window has passed: the warranty answers too.
            ctx.commands.append(command)
            spec = load_flows().get(command.intent or "")
            if spec is not None:
                self._about_the_item(ctx)
                action = out.action
                out.merge(run_flow(spec, ctx))
                out.action = action
        return out

    @staticmethod
    def _reread(ctx: FlowContext, said: dict[str, Any], intent: str) -> None:
        """Answering "A or B?" with yes: read the message that was asked about as A."""
        try:
            entities = [Entity.model_validate(e) for e in said.get("entities", [])]
        except ValidationError:
            return
        text = str(said.get("text", ""))
        ctx.text = text
        ctx.nlu = ctx.nlu.model_copy(
            update={
                "text": text,
                "entities": entities,
                "intent": IntentScore(name=intent, confidence=1.0),
                "clarify": None,
            }
        )

    @staticmethod
    def _about_the_item(ctx: FlowContext) -> None:
        """A follow-up about the order's item (the warranty of the leaking bottle) is asked
        for that item's kind of product, so the answer is the period that applies to it."""
        lines = order_items_named(ctx.db, ctx.state, ctx.nlu, sole=True)
        paths = {str(line.get("category_path") or "") for line in lines} - {""}
        if len(paths) == 1:
            line = lines[0]
            word = line.get("category_zh") if ctx.language == "zh" else None
            ctx.product_request = ProductRequest(
                category=paths.pop(), category_word=str(word or "") or None
            )

    def _decide(self, ctx: FlowContext) -> Outcome:
        state, text, lex = ctx.state, ctx.text, lexicon()
        intent = ctx.nlu.intent.name
        if not text.strip():
            return Outcome(use_llm=False).say("empty.prompt")
        if looks_like_injection(text):
            out = Outcome(use_llm=False, resolved=True, action="refused.injection").say(
                "safety.no_discount"
            )
            return self._with_resume(ctx, out)

        # "Would you like me to connect you with a person?" - "yes".
        offer, state.offer = state.offer, None
        if offer and not state.pending and offer in load_flows():
            spec = load_flows()[offer]
            # "If you tell me the order number, I can cancel it" - "10008".
            asked = spec_for_intent(intent)
            other_task = (
                asked.kind == "task"
                and asked.name != spec.name
                and ctx.nlu.intent.confidence >= thresholds().switch_confidence
            )
            gives_number = (
                "order_number" in spec.slots
                and not other_task  # "帮我查一下订单10066" after a cancel offer: tracking
                and is_short(text)
                and (ctx.nlu.first("order_number") is not None or bool(_DIGITS.search(text)))
                and not ctx.claim.given
            )
            if self._is_yes(ctx) or gives_number:
                ctx.intent = spec.intents[0]
                if gives_number and ctx.nlu.first("order_number") is None:
                    state.last_order = _DIGITS.search(text).group(1)  # type: ignore[union-attr]
                return self._start(ctx, spec)

        # A pending "which did you mean?" is answered by position or by a yes.
        if state.clarify:
            options, state.clarify = state.clarify, None
            said, state.clarify_message = state.clarify_message, None
            ordinal = lex.ordinal(text)
            chosen = None
            if ordinal in ("first", "second"):
                chosen = options[0 if ordinal == "first" else 1]
            elif intent == "affirm":
                chosen = options[0]
            if chosen is not None:
                intent = chosen
                if said and is_short(text):
                    # "是的": the chosen task, with the items and reason said before.
                    self._reread(ctx, said, chosen)
                    text = ctx.text
        ctx.intent = intent = self._in_context(ctx, intent)

        if any(c.kind == "cancel" for c in ctx.commands):
            if state.flow or state.suspended:
                label = flow_label(state.flow or state.suspended[-1].flow, ctx.language)
                state.end_flow()
                state.suspended.clear()
                return Outcome(action="flow.cancelled", resolved=True).say(
                    "flow.cancelled", request=label
                )
            return Outcome(action="deny", resolved=True).say("deny.nothing_pending")

        corrects_order = (
            bool(state.flow or state.last_flow in load_flows())
            and matches(lex.correction, text)
            and bool(_DIGITS.search(text))
            and not ctx.claim.given
        )
        if (
            ctx.nlu.clarify
            and len(ctx.nlu.clarify) >= 2
            and not corrects_order  # "sorry, 10066": the number is the answer, not a topic
            and not (state.flow and self._answers_step(ctx, load_flows()[state.flow]))
            # The conversation already settled it ("L码有吗" right after a product was
            # shown): an interpret rule chose the reading, nothing is left to ask.
            and not any(c.intent for c in ctx.commands)
        ):
            a, b = ctx.nlu.clarify[:2]
            if b == ctx.nlu.intent.name:
                a, b = b, a  # a bare "yes" to "A or B?" takes the more likely reading
            state.clarify = [a, b]
            state.clarify_message = _without_identity(ctx.nlu)
            number = ctx.nlu.first("order_number")
            if number is not None:  # kept for whichever flow the answer picks
                state.last_order = normalise_order_number(str(number.value or number.text))
            return Outcome(action="clarify", use_llm=False).say(
                "clarify.ask",
                option_a=intent_label(a, ctx.language),
                option_b=intent_label(b, ctx.language),
            )

        active = load_flows().get(state.flow) if state.flow else None
        if active is not None and state.lookup_failed and not self._corrects_number(ctx):
            # The order was not found and the customer moved on: nothing is half done,
            # so the stale request is dropped rather than resumed after this answer.
            state.end_flow()
            active = None
        if active is not None:
            return self._continue(ctx, active)
        if state.last_flow in load_flows() and (
            (
                ctx.nlu.first("order_number") is not None
                and intent in ("deny", "affirm", "out_of_scope")
            )
            or (matches(lex.correction, text) and _DIGITS.search(text) and not ctx.claim.given)
        ):
            # "No, I meant order 10024" after the request was already answered or refused.
            return self._start(ctx, load_flows()[state.last_flow or ""])
        return self._start(ctx, spec_for_intent(intent))

    # --- starting and continuing flows --------------------------------------------------------

    def _start(self, ctx: FlowContext, spec: FlowSpec) -> Outcome:
        state = ctx.state
        if spec.kind == "info":
            return run_flow(spec, ctx)
        if self._general_question(ctx, spec):
            # "How do I cancel an order?" asks about the policy: answer it and offer the
            # task; an order number or a yes next turn starts it.
            state.last_flow = spec.name
            return self._howto(ctx, spec)
        state.start_flow(spec.name)
        state.last_flow = spec.name
        state.slots = {}
        if "order_number" in spec.slots and state.last_order:
            state.slots["order_number"] = state.last_order
        self._fill_slots(ctx, spec, starting=True)
        return run_flow(spec, ctx)

    def _continue(self, ctx: FlowContext, active: FlowSpec) -> Outcome:
        state, text, lex = ctx.state, ctx.text, lexicon()
        intent = ctx.intent
        target = spec_for_intent(intent)
        is_yes = self._is_yes(ctx)
        is_no = intent == "deny" or (is_short(text) and matches(lex.no, text))

        switching = self._switches_task(ctx, active)
        if state.pending is not None and not switching:
            if self._fill_slots(ctx, active, starting=False):
                state.pending = None  # a correction: confirm the corrected request again
                return run_flow(active, ctx)
            if is_yes:
                state.pending = None
                return run_flow(active, ctx, confirmed=True)
            if is_no:
                label = flow_label(active.name, ctx.language)
                state.end_flow()
                return Outcome(action="flow.declined", resolved=True).say(
                    "confirm.declined", request=label
                )

        if (
            target.kind == "task"
            and target.name != active.name
            and intent not in ("affirm", "deny")
            and self._general_question(ctx, target)
        ):
            # "How long do refunds take?" during a cancellation: answer, then resume.
            state.suspend_active()
            return self._with_resume(ctx, self._howto(ctx, target))
        answers = not switching and self._answers_step(ctx, active)
        if answers or target.name == active.name:
            self._fill_slots(ctx, active, starting=False)
            return run_flow(active, ctx)
        if target.kind == "task" and intent not in ("affirm", "deny"):
            return self._start(ctx, target)
        if target.kind == "info" and target.name not in ("out_of_scope", "smalltalk"):
            # A digression: answer it, then pick the suspended task up where it stopped.
            state.suspend_active()
            out = run_flow(target, ctx)
            return self._with_resume(ctx, out)
        if intent in ("thank", "goodbye", "greet"):
            out = run_flow(target, ctx)
            return self._with_resume(ctx, out, suspend=True)
        # Not an answer we can use: ask again, and offer a person after repeated misses.
        state.failures += 1
        out = Outcome(resolved=None, action="reprompt").say("flow.reprompt")
        out.merge(run_flow(active, ctx))
        if state.failures >= 2:
            out.say("fallback.offer_human_short")
            out.action = "fallback.offer_human"
        return out

    @staticmethod
    def _howto(ctx: FlowContext, spec: FlowSpec) -> Outcome:
        ctx.task = spec.name
        return run_flow(load_flows()[spec.howto or "howto"], ctx)

    @staticmethod
    def _general_question(ctx: FlowContext, spec: FlowSpec) -> bool:
        """A question about how a task works, not a request to do it for an order."""
        if spec.kind != "task" or not spec.howto or "order_number" not in spec.slots:
            return False
        text, lex = ctx.text, lexicon()
        if ctx.nlu.first("order_number") is not None or _DIGITS.search(text) or ctx.claim.given:
            return False
        if ctx.state.last_order and matches(lex.order_it, text):
            return False  # "can you cancel it?" about the order just discussed
        if names_order_item(ctx.db, ctx.state, ctx.nlu):
            return False  # "can I return the bottle?": an item of the order just discussed
        if spec.name == "track_order" and ctx.state.last_action == "order.tracked":
            return False  # "怎么还没到？" right after tracking asks about that order
        if (
            ctx.state.last_order
            and spec.name in ("get_refund", "track_refund")
            and (ctx.state.last_action or "").startswith("refund.")
        ):
            return False  # "how much was refunded?" right after a refund answer: that order
        return matches(lex.general_question, text) and not matches(lex.own_request, text)

    def _with_resume(self, ctx: FlowContext, out: Outcome, *, suspend: bool = False) -> Outcome:
        state = ctx.state
        if suspend and state.flow:
            state.suspend_active()
        if state.flow is None and state.suspended:
            resumed = state.resume_suspended()
            if resumed is not None:
                spec = load_flows()[resumed.flow]
                out.say("flow.resume", request=flow_label(spec.name, ctx.language))
                if state.pending is None and state.step == "confirm":
                    state.step = None
                out.merge(run_flow(spec, ctx))
                out.action = out.action or "flow.resumed"
        elif state.flow:
            out.merge(run_flow(load_flows()[state.flow], ctx))
        return out

    # --- slots ----------------------------------------------------------------------------------

    @staticmethod
    def _in_context(ctx: FlowContext, intent: str) -> str:
        """Read the message in the light of the conversation: the interpret stage's rules
        (data/interpret_rules.toml) turn it into commands; the first one's intent, if any,
        is what the message is read as. Fired rules are kept in ``ctx.commands``."""
        state = ctx.state
        spec = load_flows().get(state.flow) if state.flow else None
        req = ctx.product_request
        situation = Situation(
            nlu=ctx.nlu,
            intent=intent,
            text=ctx.text,
            flow=state.flow,
            step=state.step,
            free_text_slots=list(spec.free_text) if spec is not None else [],
            last_action=state.last_action,
            last_order=state.last_order,
            named_product_ids=named_product_ids(ctx.nlu),
            product_ids=list(ctx.product_ids),
            points_at_one=points_at_one(ctx.text),
            category=req.category if req is not None else None,
            category_word=req.category_word if req is not None else None,
            wants_variant=bool(req is not None and req.wants_variant),
            product_hits=len(ctx.product_hits),
            promo_code=bool(named_promo_codes(ctx.db, ctx.text)),
            claim=ctx.claim.given,
            bare_number=bare_number(ctx.nlu, ctx.db),
            last_flow=state.last_flow if state.last_flow in load_flows() else None,
            unknown_name=ctx.unknown_name,
            order_item=bool(state.last_order) and names_order_item(ctx.db, state, ctx.nlu),
        )
        commands = interpret(situation)
        ctx.commands.extend(commands)
        for command in commands:
            if command.intent:
                return command.intent
        return intent

    @staticmethod
    def _corrects_number(ctx: FlowContext) -> bool:
        """After "order X is not on your account": does this message give another number?"""
        if ctx.claim.given:
            return True  # "it's under my other email": the lookup may succeed now
        return ctx.nlu.first("order_number") is not None or bool(_DIGITS.search(ctx.text))

    @staticmethod
    def _is_yes(ctx: FlowContext) -> bool:
        lex = lexicon()
        return ctx.nlu.intent.name == "affirm" or (
            is_short(ctx.text) and matches(lex.yes, ctx.text) and not matches(lex.no, ctx.text)
        )

    def _switches_task(self, ctx: FlowContext, active: FlowSpec) -> bool:
        """A confident request for another task replaces the active one."""
        target = spec_for_intent(ctx.intent)
        if self._general_question(ctx, target):
            return False  # a question about another task is a digression, not a switch
        if matches(lexicon().correction, ctx.text) and (
            ctx.nlu.first("order_number") is not None or _DIGITS.search(ctx.text)
        ):
            return False  # "no, I meant order 10024" corrects the active request
        if target.kind != "task" or target.name == active.name:
            return False
        step = ctx.state.step or ""
        if step.startswith("collect:") and step.split(":", 1)[1] in active.free_text:
            # A return reason such as "wrong size" reads like another request; only an
            # explicit new order number or near-certainty counts as changing the subject.
            return ctx.nlu.first("order_number") is not None or (
                ctx.nlu.intent.confidence >= thresholds().free_text_switch_confidence
            )
        return ctx.nlu.intent.confidence >= thresholds().switch_confidence

    def _answers_step(self, ctx: FlowContext, spec: FlowSpec) -> bool:
        """Does this message answer what the flow asked, rather than start something else?"""
        step = ctx.state.step or ""
        nlu = ctx.nlu
        if nlu.first("order_number") is not None and "order_number" in spec.slots:
            return True
        if step in ("verify", "identify") and (ctx.claim.given or nlu.first("order_number")):
            return True
        if step == "identify" and "new_address" in spec.free_text and _street_address(ctx.text):
            return True  # the new address, given before the order number that identifies
        if step == "collect:order_number":
            return bool(_DIGITS.search(ctx.text)) and not ctx.claim.given
        if step.startswith("collect:"):
            slot = step.split(":", 1)[1]
            if slot in spec.free_text:
                if matches(lexicon().reason_words, ctx.text) or matches(
                    lexicon().free_return, ctx.text
                ):
                    return True  # "不合适" reads as "no" to a classifier; here it is the reason
                if ctx.intent == "deny" and not lexicon().no.match(ctx.text.lower().lstrip()):
                    return True  # "not what I expected" is a reason, not a "no" to the question
                if self._digression_in_free_text(ctx):
                    return False
                return (
                    ctx.intent not in ("thank", "goodbye", "greet", "affirm", "deny")
                    or len(ctx.text) > 20
                )
            return any(e.type == slot for e in nlu.entities)
        return False

    @staticmethod
    def _digression_in_free_text(ctx: FlowContext) -> bool:
        """While we wait for free text (a return reason), is this a question on the side?

        A confident information question counts when it is asked as a question, or when it
        names a product or a kind of product ("tell me about the AeroBuds Lite", "介绍一下
        AeroBuds Lite"). A message that reads like a reason ("the hoodie is too small",
        "it stopped working") is the answer, whatever the classifier says.
        """
        lex = lexicon()
        if matches(lex.reason_words, ctx.text) or matches(lex.free_return, ctx.text):
            return False
        target = spec_for_intent(ctx.intent)
        if target.kind != "info" or target.name in ("out_of_scope", "smalltalk"):
            return False
        if ctx.nlu.intent.confidence < thresholds().digression_confidence:
            return False
        if _is_question(ctx.text):
            return True
        req = ctx.product_request
        names_product = bool(named_product_ids(ctx.nlu)) or bool(req is not None and req.category)
        return target.name in PRODUCT_FLOWS and names_product

    def _fill_slots(self, ctx: FlowContext, spec: FlowSpec, *, starting: bool) -> bool:
        """Copy what the message gives into the slots; True when a filled slot changed."""
        state, nlu, text = ctx.state, ctx.nlu, ctx.text
        slots = state.slots
        changed = False
        asked = state.step or ""
        if "order_number" in spec.slots:
            entity = nlu.first("order_number")
            number = None
            if entity is not None:
                number = normalise_order_number(str(entity.value or entity.text))
            elif asked == "collect:order_number" or matches(lexicon().correction, text):
                # A bare number when we asked for one, or in "no, I meant 10008".
                number = bare_number(nlu, ctx.db)
            elif starting:
                # In the request itself ("any update on 10082?"); the one number of a
                # request ("the invoice for 10086") wins over the order discussed before,
                # but an address's street number and postcode never do.
                found = bare_numbers(nlu, ctx.db)
                if len(found) == 1 or (found and not slots.get("order_number")):
                    number = found[0]
            if number and number != slots.get("order_number"):
                changed = changed or slots.get("order_number") is not None
                slots["order_number"] = number
                if asked.startswith("collect:") and asked.split(":", 1)[1] in spec.free_text:
                    # "不对，我的意思是订单10119" while we wait for the new address corrects
                    # the order; it is not the address. Ask for it again for that order.
                    asked = ""
        if "change_request" in spec.slots:
            for etype in ("quantity", "colour", "size"):
                entity = nlu.first(etype)
                if entity is not None:
                    slots[etype] = entity.value
            pids = [
                e.meta.get("product_id")
                for e in nlu.entities
                if e.type == "product" and e.meta.get("product_id")
            ]
            if pids:
                slots["product_id"] = pids[0]
            has_detail = any(slots.get(k) for k in ("quantity", "colour", "size"))
            if asked == "collect:change_request" or (starting and has_detail):
                slots["change_request"] = mask_pii(text)[:FREE_TEXT_MAX]
        for slot in spec.free_text:
            if slot == "change_request":
                continue
            if asked == f"collect:{slot}":
                # A new address is the slot's value itself; every other PII is masked.
                keep_address = slot == "new_address"
                slots[slot] = mask_pii(text, addresses=not keep_address)[:FREE_TEXT_MAX]
            elif slot == "new_address" and asked == "identify" and _street_address(text):
                # Kept while the customer is identified, then read by the flow.
                slots[slot] = mask_pii(text, addresses=False)[:FREE_TEXT_MAX]
            elif slot == "reason" and not slots.get("reason"):
                # "order 10053, email ..., the size was wrong": the reason came early.
                reason = lexicon().reason_after_marker(text) or _reason_clause(nlu)
                if not reason and starting:
                    # "..., I ordered two and only need one": the request's other clause.
                    reason = reason_in_request(text, slots.get("order_number"))
                if reason:
                    slots["reason"] = clean_reason(reason)[:FREE_TEXT_MAX]
        return changed
