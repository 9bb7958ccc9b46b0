"""Dashboard pages of issue 12: a department's support cases (`/cases`), and the life-after-approval section of
a candidate's page (the template `post_approval.html`, included by `candidate.html`).

    /cases                  the cases the visitor may see, overdue first, with each department's statistics
    /cases?department=ID    one department's cases

The same rights as `/api/v1/cases` (`pipecast.api.routers.cases.may_see`). Words in English and Chinese.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pipecast import clock
from pipecast.api.deps import CurrentUserOrNone, StateDep, csrf_token
from pipecast.web.i18n import strings
from pipecast.web.render import environment, language, link, page

router = APIRouter(include_in_schema=False)

CASE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "h_cases": "Support cases",
        "cases_lead": "Requests for help the task force's departments handle, overdue cases first (as of {as_of}).",
        "cases_department": "Department",
        "cases_all": "(all I may see)",
        "cases_show": "Show",
        "cases_none": "No case to show.",
        "cases_count": "{total} case(s), {overdue} overdue",
        "col_case": "Case",
        "col_case_type": "Type",
        "col_subject": "For",
        "col_status": "Status",
        "col_target_date": "Target date",
        "col_departments": "Departments",
        "col_outcome": "Outcome",
        "h_case_stats": "Departments",
        "col_cases": "Cases",
        "col_unresolved": "Unresolved",
        "col_overdue": "Overdue",
        "col_in_time": "Closed in time",
        "col_median_close": "Median days to close",
        "overdue_by": "overdue by {days} days",
        "status_open": "open",
        "status_in_progress": "in progress",
        "status_blocked": "blocked",
        "status_resolved": "resolved",
        "type_review_approval": "review and approval",
        "type_trial_alignment": "trial alignment",
        "type_market_access": "market access",
        "type_financing": "financing",
        "type_talent": "talent",
        "type_other": "other",
        "h_post_approval": "After approval",
        "post_approval_none": "Nothing published yet on NRDL listing, provinces, hospitals or patients reached.",
        "pa_nrdl": "NRDL listing",
        "pa_provinces": "provinces covered",
        "pa_hospitals": "hospitals",
        "pa_patients": "patients reached",
    },
    "zh": {
        "h_cases": "服务事项",
        "cases_lead": "专班各部门办理的企业求助事项,逾期事项排在最前(截至 {as_of})。",
        "cases_department": "部门",
        "cases_all": "(我可查看的全部)",
        "cases_show": "显示",
        "cases_none": "没有可显示的事项。",
        "cases_count": "共 {total} 项,逾期 {overdue} 项",
        "col_case": "事项",
        "col_case_type": "类型",
        "col_subject": "对象",
        "col_status": "状态",
        "col_target_date": "目标日期",
        "col_departments": "责任部门",
        "col_outcome": "办理结果",
        "h_case_stats": "各部门情况",
        "col_cases": "事项数",
        "col_unresolved": "未办结",
        "col_overdue": "逾期",
        "col_in_time": "按期办结",
        "col_median_close": "办结天数中位数",
        "overdue_by": "逾期 {days} 天",
        "status_open": "待办",
        "status_in_progress": "办理中",
        "status_blocked": "受阻",
        "status_resolved": "已办结",
        "type_review_approval": "审评审批",
        "type_trial_alignment": "临床试验协同",
        "type_market_access": "市场准入",
        "type_financing": "融资",
        "type_talent": "人才",
        "type_other": "其他",
        "h_post_approval": "获批之后",
        "post_approval_none": "尚无医保目录、覆盖省份、医院或患者人数的公开信息。",
        "pa_nrdl": "纳入国家医保目录",
        "pa_provinces": "覆盖省份",
        "pa_hospitals": "医院",
        "pa_patients": "惠及患者",
    },
}


def _post_approval_facts(candidate: str) -> list[Any]:
    from pipecast.loading.post_approval import facts_of

    return facts_of(candidate)


def _case_words(lang: str) -> dict[str, str]:
    return CASE_STRINGS[lang]


# The candidate page includes post_approval.html, which calls these (registered once, at import).
environment().globals.update(post_approval_facts=_post_approval_facts, case_words=_case_words)


@router.get("/cases")
def cases_page(request: Request, user: CurrentUserOrNone, state: StateDep, department: str = "") -> Response:
    from pipecast.api.routers.cases import may_see
    from pipecast.api.security import ANONYMOUS
    from pipecast.cases import department_stats, ordered, overdue_days
    from pipecast.store.cases import departments, list_cases

    if user is None and not state.settings.public_read:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(link(request, "/login", next=target), status_code=303)
    lang = language(request)
    t = strings(lang) | CASE_STRINGS[lang]
    who = user or ANONYMOUS
    today = clock.today()
    visible = [c for c in list_cases(state.store) if may_see(who, c, state)]
    depts = departments(state.store.organisations())
    shown = [c for c in visible if not department or department in c.departments]
    rows = [{"case": c, "late": overdue_days(c, today)} for c in ordered(shown, today)]
    names = {d.id: d.aliases[0] if lang == "zh" and d.aliases else d.name for d in depts}
    stats = [s for s in department_stats(shown, today) if not department or s.department == department]
    return page(request, "cases.html", title_key="h_cases", active="/cases", user=user, csrf=csrf_token(request),
                title=t["h_cases"], w=t, rows=rows, stats=stats, departments=depts, names=names,
                department=department, as_of=today, overdue=sum(1 for r in rows if r["late"]))
