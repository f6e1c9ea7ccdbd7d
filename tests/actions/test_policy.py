"""Policy rules as plain functions: no Tracker, no database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from actions import policy
from actions.masking import mask_address, mask_email, mask_phone
from actions.policy_markets import load_policies, market_policy
from actions.store import Customer, Order, OrderItem, OrderStatus, ReturnRecord
from actions.store_calendar import at_store_time

TODAY = date(2026, 11, 22)
NOON = time(12)  # orders are placed and delivered at noon on the store's day (any BUSINESS_TZ)


def make_order(status="delivered", market="ES", delivered_days_ago=5, items=None, total=None,
               payment="card", placed=date(2026, 10, 1), delivered_on=None):
    items = items or (OrderItem(1, "FW-1", "Zapatillas", "footwear", "42", 1, 89_90),
                      OrderItem(2, "SW-1", "Bañador", "swimwear", "M", 1, 39_90))
    delivered = None
    if delivered_days_ago is not None and status in {"delivered", "returned", "refunded"}:
        delivered_on = delivered_on or TODAY - timedelta(days=delivered_days_ago)
        delivered = at_store_time(delivered_on, NOON)
    return Order(
        id="AT100001", status=OrderStatus(status), currency="EUR",
        total_cents=total if total is not None else sum(i.total_cents for i in items),
        payment_method=payment, placed_at=at_store_time(placed, NOON),
        shipping_address="Calle Mayor 1, 28013 Madrid", items=tuple(items),
        customer=Customer(1, "Ana", "ana@example.com", "+34 600 000 000", "es", market),
        delivered_at=delivered,
    )


ES = market_policy("ES")


@pytest.mark.parametrize("days, allowed",
                         [(0, True), (29, True), (30, True), (31, False), (60, False)])
def test_return_window_counts_from_delivery(days, allowed):
    order = make_order(delivered_days_ago=days)
    decision = policy.check_return(order, [1], TODAY, ES)
    assert decision.allowed is allowed
    assert decision.deadline == TODAY - timedelta(days=days) + timedelta(days=30)
    if not allowed:
        assert decision.code == "window_expired"


def test_non_returnable_categories_follow_the_return_policy_article():
    for category in ("underwear", "gift_card", "personalised"):
        item = OrderItem(3, "X-1", "X", category, None, 1, 20_00)
        decision = policy.check_return(make_order(items=(item,)), [3], TODAY, ES)
        assert (decision.allowed, decision.code) == (False, "non_returnable"), category


def test_swimwear_is_returned_only_with_its_hygiene_seal():
    # "Bañadores y bikinis sin el precinto higiénico" are excluded, so sealed ones are accepted
    # and the shopper is told the condition.
    decision = policy.check_return(make_order(), [2], TODAY, ES, reason="no me gusta")
    assert (decision.allowed, decision.seal_required, decision.refund_cents) == (True, True, 39_90)
    exchange = policy.check_return(make_order(), [2], TODAY, ES, reason="me queda grande")
    assert (exchange.kind, exchange.seal_required) == ("exchange", True)
    assert policy.check_return(make_order(), [1], TODAY, ES).seal_required is False


@pytest.mark.parametrize("status, code", [("in_transit", "not_delivered_yet"), ("shipped",
                         "not_delivered_yet"), ("paid", "not_shipped"), ("pending", "not_shipped"),
                         ("cancelled", "closed"), ("refunded", "closed")])
def test_only_delivered_orders_are_returned(status, code):
    decision = policy.check_return(make_order(status=status, delivered_days_ago=None), [1], TODAY,
                                   ES)
    assert (decision.allowed, decision.code) == (False, code)


def test_size_reason_gives_a_free_exchange_without_refund():
    decision = policy.check_return(make_order(), [1], TODAY, ES, reason="me queda pequeña la talla")
    assert (decision.allowed, decision.kind, decision.refund_cents) == (True, "exchange", 0)
    refund = policy.check_return(make_order(), [1], TODAY, ES, reason="no me gusta el color")
    assert (refund.kind, refund.refund_cents) == ("refund", 89_90)


def test_unsized_items_are_never_exchanged():
    bag = OrderItem(3, "AC-1", "Bolso", "accessories", None, 1, 149_00)
    decision = policy.check_return(make_order(items=(bag,)), [3], TODAY, ES, reason="too big")
    assert decision.kind == "refund"


@pytest.mark.parametrize("text, expected", [("la talla es pequeña", True), ("too small", True),
                         ("It doesn't fit", True), ("me queda grande", True),
                         ("llegó roto", False), ("changed my mind", False), (None, False)])
def test_is_size_reason(text, expected):
    assert policy.is_size_reason(text) is expected


def _with_return(status: str, kind: str = "refund"):
    return replace(make_order(), returns=(ReturnRecord("RMA-1", "AT100001", (1,), "x", kind,
                                                       status, 0, datetime.now(UTC)),))


@pytest.mark.parametrize("status", ["requested", "open", "label_sent"])
def test_an_item_with_a_return_under_way_points_at_that_rma(status):
    decision = policy.check_return(_with_return(status, "exchange"), [1], TODAY, ES)
    assert (decision.allowed, decision.code, decision.rma, decision.kind) == \
        (False, "open_rma", "RMA-1", "exchange")


@pytest.mark.parametrize("status", ["received", "refunded", "closed"])
def test_already_returned_items_cannot_be_returned_again(status):
    assert policy.check_return(_with_return(status), [1], TODAY, ES).code == "already_returned"


@pytest.mark.parametrize("status", ["cancelled", "declined"])
def test_a_cancelled_or_declined_return_does_not_block_a_new_one(status):
    assert policy.check_return(_with_return(status), [1], TODAY, ES).allowed


def test_final_sale_items_are_refused_per_item():
    order = make_order()
    sale = replace(order.items[0], final_sale=True)
    order = replace(order, items=(sale, *order.items[1:]))
    decision = policy.check_return(order, [sale.id], TODAY, ES, reason="no me gusta")
    assert (decision.allowed, decision.code, decision.item_id) == (False, "final_sale", sale.id)


def test_a_broken_hygiene_seal_refuses_swimwear_only_once_the_shopper_says_so():
    swim = OrderItem(7, "SW-1", "Bañador", "swimwear", "M", 1, 39_90)
    order = make_order(items=(swim,))
    asked = policy.check_return(order, [7], TODAY, ES, reason="no me gusta")
    assert (asked.allowed, asked.seal_required) == (True, True)
    assert policy.check_return(order, [7], TODAY, ES, seal_intact=True).allowed
    broken = policy.check_return(order, [7], TODAY, ES, seal_intact=False)
    assert (broken.allowed, broken.code) == (False, "seal_broken")


def test_refund_chosen_instead_of_the_size_exchange():
    decision = policy.check_return(make_order(), [1], TODAY, ES, reason="me queda pequeña",
                                   remedy="refund")
    assert (decision.allowed, decision.kind, decision.refund_cents) == (True, "refund", 89_90)


@pytest.mark.parametrize("market, threshold", [("ES", 500_00), ("MX", 10_000_00),
                         ("AR", 500_000_00), ("CO", 2_250_000_00), ("US", 550_00)])
def test_agent_review_thresholds_match_the_refund_times_article(market, threshold):
    p = market_policy(market)
    assert p.approval_threshold_cents == threshold
    assert policy.needs_approval(threshold, p) is False  # "over €500": exactly 500 is not over
    assert policy.needs_approval(threshold + 1, p) is True


def test_refund_above_threshold_needs_an_agent():
    watch = OrderItem(4, "AC-2", "Reloj", "accessories", None, 1, 590_00)
    decision = policy.check_return(make_order(items=(watch,)), [4], TODAY, ES)
    assert (decision.allowed, decision.code, decision.needs_agent) == (False, "approval_required",
                                                                       True)
    coat = OrderItem(5, "AP-1", "Abrigo", "apparel", "M", 1, 420_00)
    assert policy.check_return(make_order(items=(coat,)), [5], TODAY, ES).allowed  # under €500


@pytest.mark.parametrize("status, allowed, code", [
    ("pending", True, "ok"), ("paid", True, "ok"), ("shipped", False, "already_shipped"),
    ("in_transit", False, "already_shipped"), ("delivered", False, "already_shipped"),
    ("cancelled", False, "already_cancelled"), ("returned", False, "closed"),
    ("refunded", False, "closed")])
def test_cancellation_only_before_shipping(status, allowed, code):
    decision = policy.check_cancellation(make_order(status=status), ES)
    assert (decision.allowed, decision.code) == (allowed, code)


def test_cancellations_over_the_threshold_go_to_an_agent_paid_or_not():
    # cancel-order article: cancellations and refunds of orders over €500 are reviewed by an agent.
    for status in ("paid", "pending"):
        decision = policy.check_cancellation(make_order(status=status, total=500_01), ES)
        assert (decision.code, decision.needs_agent) == ("approval_required", True), status
    assert policy.check_cancellation(make_order(status="paid", total=500_00), ES).allowed
    assert policy.check_cancellation(make_order(status="paid"), ES).refund_cents == 129_80
    assert policy.check_cancellation(make_order(status="pending"), ES).refund_cents == 0


def test_cash_on_delivery_cancellation_refunds_nothing():
    # "If you chose cash on delivery you haven't been charged, so there is nothing to refund."
    order = make_order(status="paid", payment="cash_on_delivery")
    decision = policy.check_cancellation(order, market_policy("CO"))
    assert (decision.allowed, decision.refund_cents) == (True, 0)


def test_address_change_only_before_shipping():
    assert policy.check_address_change(make_order(status="paid", delivered_days_ago=None)).allowed
    assert policy.check_address_change(make_order(status="in_transit")).code == "already_shipped"
    assert policy.check_address_change(make_order(status="cancelled")).code == "closed"


@pytest.mark.parametrize("method, market, days", [
    ("card", "ES", (3, 5)), ("apple_pay", "US", (3, 5)), ("paypal", "ES", (1, 2)),
    ("paypal", "US", (1, 2)), ("bank_transfer", "AR", (5, 7)), ("cash_on_delivery", "CO", (5, 7)),
    ("oxxo", "MX", (5, 7)), ("bizum", "ES", (1, 5)), ("mercadopago", "AR", (1, 5)),
    ("pse", "CO", (1, 5)), ("nequi", "CO", (1, 5)), ("unknown", "ES", (3, 5))])
def test_refund_timelines_match_the_refund_times_article(method, market, days):
    assert policy.refund_timeline(method, market_policy(market)) == days


def test_refund_due_date_counts_business_days_from_receipt():
    friday = date(2026, 11, 20)
    assert policy.refund_due_date(friday, "card", ES) == date(2026, 11, 27)  # +5 working days
    assert policy.refund_due_date(friday, "paypal", ES) == date(2026, 11, 24)


@pytest.mark.parametrize("purchased, until", [
    (date(2026, 11, 14), None), (date(2026, 11, 15), date(2027, 1, 15)),
    (date(2026, 11, 27), date(2027, 1, 15)), (date(2026, 12, 31), date(2027, 1, 15)),
    (date(2027, 1, 1), None), (date(2026, 6, 1), None)])
def test_holiday_extension_depends_on_the_purchase_date(purchased, until):
    assert policy.holiday_return_deadline(purchased, ES) == until


def test_holiday_purchase_is_returnable_until_15_january():
    # Bought on Black Friday, delivered 30 Nov: 30 days would end 30 Dec, the extension 15 Jan.
    order = make_order(placed=date(2026, 11, 27), delivered_on=date(2026, 11, 30))
    assert policy.return_deadline(order, ES) == date(2027, 1, 15)
    inside = policy.check_return(order, [1], date(2027, 1, 15), ES)
    assert (inside.allowed, inside.deadline, inside.holiday) == (True, date(2027, 1, 15), True)
    late = policy.check_return(order, [1], date(2027, 1, 16), ES)
    assert (late.allowed, late.code, late.holiday) == (False, "window_expired", True)


def test_holiday_extension_follows_the_order_date_not_the_delivery_date():
    # Bought 14 Nov (before the period), delivered 17 Nov (inside it): normal 30 days only.
    before = make_order(placed=date(2026, 11, 14), delivered_on=date(2026, 11, 17))
    assert policy.return_deadline(before, ES) == date(2026, 12, 17)
    assert policy.check_return(before, [1], date(2026, 12, 18), ES).code == "window_expired"
    # Bought 31 Dec (inside), delivered 5 Jan: 30 days from delivery is later than 15 Jan.
    new_year = make_order(placed=date(2026, 12, 31), delivered_on=date(2027, 1, 5))
    decision = policy.check_return(new_year, [1], date(2027, 2, 4), ES)
    assert (decision.allowed, decision.deadline, decision.holiday) == (True, date(2027, 2, 4),
                                                                       False)
    # Bought 20 Dec, delivered 22 Dec: 21 Jan beats 15 Jan ("if that is later").
    late_dec = make_order(placed=date(2026, 12, 20), delivered_on=date(2026, 12, 22))
    assert policy.return_deadline(late_dec, ES) == date(2027, 1, 21)


def test_holiday_extension_can_be_switched_off_per_market(tmp_path, monkeypatch):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"US": {"holiday_returns": None}}))
    monkeypatch.setenv("ATIENDE_POLICY_FILE", str(path))
    load_policies.cache_clear()
    try:
        assert policy.holiday_return_deadline(date(2026, 11, 27),
                                              market_policy("US")) is None
        assert policy.holiday_return_deadline(date(2026, 11, 27), market_policy("ES"))
    finally:
        monkeypatch.delenv("ATIENDE_POLICY_FILE")
        load_policies.cache_clear()


def test_us_refunds_lose_the_label_fee_unless_faulty_or_exchanged():
    us = market_policy("US")
    order = make_order(market="US")
    refund = policy.check_return(order, [1], TODAY, us, reason="changed my mind")
    assert (refund.refund_cents, refund.fee_cents) == (89_90 - 6_95, 6_95)
    faulty = policy.check_return(order, [1], TODAY, us, reason="the sole arrived broken")
    assert (faulty.refund_cents, faulty.fee_cents) == (89_90, 0)
    assert policy.check_return(order, [1], TODAY, us, reason="too small").fee_cents == 0
    assert policy.check_return(order, [1], TODAY, ES, reason="no me gusta").fee_cents == 0


def test_masking_hides_personal_data():
    assert mask_email("lucia.martin@example.com") == "l***n@example.com"
    assert "lucia" not in mask_email("lucia.martin@example.com")
    assert mask_phone("+34 612 345 678") == "··· 678"
    masked = mask_address("Calle de Atocha 27, 3º B, 28012 Madrid")
    assert "Atocha" not in masked and "27" not in masked and "28012" not in masked
    assert masked.endswith("280** Madrid")
    assert mask_address("1100 S Congress Ave, Austin, TX 78704") == "***, Austin, TX 787**"


def test_the_actions_and_the_articles_read_the_same_policy_files():
    """The return form's window and the refund times are the figures the articles state."""
    from kb_index.documents import load_sources
    from kb_index.settings import DEFAULT_POLICY_DIR

    kb = DEFAULT_POLICY_DIR.parents[0] / "kb"
    es = {a.id: a.body for a in load_sources([kb / "es"])}
    en = {a.id: a.body for a in load_sources([kb / "en"])}
    window = market_policy("ES").return_window_days
    assert f"Tienes {window} días desde la entrega" in es["return-policy"]
    assert f"You have {window} days from delivery" in en["return-policy"]
    low, high = policy.refund_timeline("paypal", market_policy("ES"))
    assert f"| PayPal | {low}–{high} días hábiles |" in es["refund-times"]
    us = market_policy("US")
    assert f"USD {us.return_label_fee_cents / 100:.2f}" in en["how-to-return"]


# -- damaged / wrong / missing items -----------------------------------------------------------
def test_claim_photo_per_problem_follows_the_policy():
    assert policy.claim_photo_needed("damaged", ES)
    assert not policy.claim_photo_needed("wrong_item", ES)
    assert not policy.claim_photo_needed("missing", ES)
    assert ES.claim_report_days == 7 and ES.claim_photo_asks == 2


def test_claim_decisions():
    order = make_order(delivered_days_ago=3)
    assert policy.check_claim(order, [1], TODAY, ES).allowed
    late = policy.check_claim(make_order(delivered_days_ago=8), [1], TODAY, ES)
    assert (late.code, late.needs_agent) == ("claim_late", True)
    again = policy.check_claim(order, [1], TODAY, ES, earlier_claims=1)
    assert (again.code, again.needs_agent) == ("repeated_claim", True)
    watch = OrderItem(9, "AC-MER-15", "Reloj", "accessories", None, 1, 590_00)
    dear = policy.check_claim(make_order(items=(watch,), delivered_days_ago=1), [9], TODAY, ES)
    assert (dear.code, dear.needs_agent) == ("approval_required", True)
    assert policy.check_claim(make_order(status="in_transit"), [1], TODAY, ES).code == \
        "not_delivered_yet"
    assert policy.check_claim(_with_return("label_sent"), [1], TODAY, ES).code == "open_rma"
