"""Loupan's own schemathesis check, loaded by .ci/fuzz (SCHEMATHESIS_HOOKS).

`shape_acceptance`: a request that is valid by the OpenAPI document must not
be refused for its shape. The built-in positive data acceptance refuses every
400/422, but a document cannot say which ids exist, which cursor the server
handed out, or rules that join two fields or read the database; a client
generated from the document meets those as 422 like any user. So this check
fails on a 400 (a query or body the server could not read) or a 422 whose
field errors include any code outside the list below: a missing field, a
wrong type, a date, a number, an enum value, a bound or a pattern the
document should have declared.
"""

import json

import schemathesis

# What the document cannot express. Everything else is shape.
NOT_SHAPE = {
    # References to records that do not exist (or that the caller may not see).
    "unknown_unit", "unknown_customer", "unknown_project", "unknown_building",
    "unknown_contract", "unknown_subscription", "unknown_payment_method",
    "unknown_user", "unknown_cost_item", "unknown_supplier", "unknown_plan_line",
    "unknown_receipt", "unknown_book", "unknown_agent", "unknown_approval",
    "unknown_variation", "unknown_refund", "unknown_manager", "unknown_deal",
    # Opaque tokens the server issued.
    "invalid_cursor",
    # Rules over two fields or over stored data.
    "invalid_range", "before_from", "before_start", "main_buyer_first",
    "code_taken", "credit_code_taken", "book_used_up", "ratios_must_sum_to_one",
    "duplicate_buyer", "no_units_match", "exceeds_total", "taken", "cannot_demote_self",
    "no_saleable_area", "nothing_to_change", "in_the_future", "not_in_book",
    "needs_special_approval", "no_special_approval_needed", "shares_must_sum_to_one",
    "code_outside_parent", "item_has_postings", "buckets_not_increasing",
    "listed_twice", "over_plan_balance", "overlaps_book", "outside_the_site_plan",
    "below_minimum", "no_condition", "reason_needed_over_plan",
    "inner_exceeds_gross", "no_floor_zero", "below_from_floor", "floor_above_list",
    "explanation_needed", "month_not_over", "same_amount", "below_contracted",
    "before_last_adoption", "no_gross_floor_area",
    # Customer service: categories by id, who may work a project's cases, what a
    # case's status allows, what an action needs, the calendar's year in the path.
    "unknown_category", "cannot_work_cases", "not_allowed_now", "reopen_period_over",
    "needed_for_this_action", "caller_needed", "below_response", "work_hours_out_of_order",
    "date_outside_year", "rule_exists", "unknown_case", "same_case", "case_of_another_project",
    "case_not_open",
    # Surveys ask about a case or a contract; a case needs a customer to ask.
    "case_or_contract_needed", "case_without_customer", "event_of_a_contract", "event_of_a_case",
    # Reception: a new visitor needs a name and a phone (a returning one a
    # customer); who may be on duty is the project's agents, each once.
    "needed_for_new_visitor", "not_an_agent", "duplicate_agent",
    # What a kind of sales change needs (a swap: the new unit and price); a
    # building whose units exist is not generated again.
    "needed_for_this_change", "units_exist",
    # A letterhead names a picture uploaded before.
    "no_such_picture",
    # A user's manager is someone else: the document cannot name the user's own id.
    "not_yourself",
    # What an SMS gateway needs depends on which one it is.
    "required_for_provider", "text_placeholder_missing",
    # What a notice template says is a language of its own; its template by id.
    "template_syntax", "unknown_merge_field", "template_error", "unknown_template",
    "template_superseded", "template_of_another_project", "kind_cannot_change",
    "needed_for_this_kind", "unknown_merge_field_name", "unknown_filter", "filter_unreadable",
    # Where a webhook may deliver is the server's configuration.
    "internal_address",
    # A check character (the credit code's, a resident ID's), computed, not a pattern.
    "invalid_credit_code_check", "invalid_id_number",
    # Questionnaires: what a question needs depends on its kind and on the
    # questions before it; what an answer may be, on the stored questionnaire.
    "too_few_options", "options_not_allowed", "not_an_earlier_question", "not_a_choice",
    "unknown_condition_value", "duplicate", "unknown_question", "unknown_option", "one_value",
    "answer_required", "answer_not_on_the_scale", "answer_not_a_number", "answer_not_a_date",
    "answer_too_long", "not_a_category", "customer_of_another_project",
    "unknown_questionnaire", "questionnaire_not_open",
    # Area compensation: a formula is a language of its own; what a rule, a
    # fund's method or a changed amount needs; a building's surveyed units and
    # contracts; areas that must fit each other.
    "formula_unexpected_character", "formula_syntax", "formula_unknown_variable",
    "formula_unknown_function", "formula_wrong_arguments", "formula_not_a_number",
    "formula_bad_number", "needed_for_formula_rule", "value_for_method",
    "reason_needed_for_adjustment", "nothing_to_compensate", "inner_above_gross",
    # Service processes: a new definition names its kind, a new version the
    # version it replaces; a reminder within a step's days; a fee is an amount
    # or a formula; a step is done once its checklist is in, and a document is
    # one of its checklist.
    "needed_for_a_new_definition", "needed_for_a_new_version", "more_than_due_days",
    "amount_or_formula", "documents_missing", "not_listed",
    # A receipt's amount within what the contract still owes.
    "exceeds_outstanding",
    # A survey template is sent by the desk, never as a batch; a payment
    # method retired since the client read it.
    "sent_with_surveys", "retired_payment_method",
    # The handover: what the contract still owes or lacks (the settlement
    # check), a slot of the building from today on, a document the project
    # asks for, a reason to find a defect again, a slot's day from today.
    "unpaid_instalment", "compensation_open", "document_missing", "defects_open",
    "unknown_slot", "slot_past", "unknown_document", "needed_to_reject", "in_the_past",
    # What a file holds rather than how it is sent.
    "not_an_xlsx_file", "unsupported_file_type",
}


def _errors(response):
    """(field, code) of each error in a problem document."""
    try:
        body = json.loads(response.text)
    except ValueError:
        return [(None, "<not json>")]
    if not isinstance(body, dict):
        return [(None, "<not a problem>")]
    fields = [(e.get("field"), e.get("code")) for e in body.get("errors") or [] if isinstance(e, dict)]
    return fields or [(None, body.get("code"))]


@schemathesis.check
def shape_acceptance(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 422):
        shape = [f"{field}: {code}" if field else code for field, code in _errors(response) if code not in NOT_SHAPE]
        if shape and response.status_code == 400:
            raise AssertionError(f"A request valid by the document could not be read: {shape}")
        if shape:
            raise AssertionError(f"A request valid by the document was refused for its shape: {shape}")
    return None
