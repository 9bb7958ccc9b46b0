"""The dashboard's words in English and Chinese, the language a request asks for, and numbers and dates as
each language writes them.

Chart and report words come from `pipecast.report.strings` (read-only); the dashboard's own are here, one
dictionary per language with the same keys (a test checks that). The language is chosen by `?lang=` (which
also sets a cookie), else the cookie, else the settings table's `language`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipecast.report.format import format_probability
from pipecast.report.strings import STRINGS as REPORT_STRINGS

LANGUAGES = ("en", "zh")
LANG_COOKIE = "pipecast_lang"
LANG_NAMES = {"en": "English", "zh": "中文"}

WEB_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "app_title": "pipecast",
        "nav_overview": "Overview",
        "nav_candidates": "Candidates",
        "nav_forecast": "Forecast",
        "nav_scenarios": "Scenarios",
        "nav_import": "Import",
        "nav_audit": "Audit log",
        "nav_plan": "Plan",
        "nav_regions": "Regions",
        "nav_value": "Value",
        "h_plan_page": "The plan: targets and verdicts",
        "h_regions_page": "Hubs side by side",
        "plan_show": "Show",
        "nav_login": "Log in",
        "nav_logout": "Log out",
        "signed_in_as": "Signed in as {user} ({role})",
        "role_viewer": "viewer",
        "role_editor": "editor",
        "role_admin": "admin",
        "stale_data": (
            "Data may be stale: the latest dated event or fact used is {data_as_of}, {days} days before the as-of "
            "date {as_of}."
        ),
        "language": "Language",
        "h_overview": "Pipeline overview",
        "overview_lead": "The pipeline as recorded on {as_of}, and the plan's target {target}.",
        "h_gauge": "Target: P({band} approvals) each year",
        "gauge_caption": (
            "Each dial: the probability of {band} approvals in that year on its own. The probability of {band} "
            "in every year of {span} together is {p}."
        ),
        "h_data_age": "Data age",
        "h_funnel_phase": "Candidates by phase",
        "h_funnel_area": "Candidates by therapeutic area",
        "h_funnel_modality": "Candidates by modality",
        "funnel_counts_caption": "Cohorts are counted by their copies; candidates in every phase, approved included.",
        "unspecified": "(not recorded)",
        "h_candidates": "Candidates",
        "search_label": "Search names and aliases (any language)",
        "search_button": "Search",
        "filter_phase": "Phase",
        "filter_sponsor": "Sponsor",
        "filter_any": "(any)",
        "results": "{total} candidate(s)",
        "no_results": "No candidate matches.",
        "col_aliases": "Aliases",
        "col_area": "Therapeutic area",
        "col_modality": "Modality",
        "col_indication": "Indication",
        "h_timeline": "Timeline of events",
        "phase_since": "{phase} since {date}",
        "h_scenario_files": "Scenario files",
        "col_date": "Date",
        "col_event": "Event",
        "col_source": "Source",
        "col_recorded": "Recorded",
        "no_source": "(no source given)",
        "h_approval_years": "When it may be approved",
        "approval_caption": (
            "Probability of first approval in each year of {span}; ever approved: {p}. From the forecast with "
            "rate set {rates} as of {as_of}."
        ),
        "already_approved": "Approved on {date}.",
        "cohort_note": "A cohort of {count} unnamed candidates: each copy has these probabilities.",
        "details": "Details",
        "h_forecast": "Forecast",
        "forecast_form": "Run a forecast",
        "field_as_of": "As-of date",
        "field_years": "Years",
        "field_target": "Target",
        "field_rates": "Rate set",
        "field_method": "Method",
        "field_paths": "Monte Carlo paths",
        "run": "Run forecast",
        "h_result": "Result",
        "result_lead": "P({band} approvals in every year of {span}): {p}.",
        "h_backtest": "How the rate set scored in backtests",
        "backtest_none": (
            "This server holds no backtest scores for rate set {rates}. Backtests are run with `pipecast backtest` "
            "on recorded history; their method and results are in docs/validation.md."
        ),
        "h_scenarios": "Scenario comparison",
        "scenario_base": "Reference scenario",
        "scenario_other": "Compared with",
        "compare": "Compare",
        "no_scenarios": "No scenario files are available.",
        "col_scenario": "Scenario",
        "col_description": "Description",
        "col_p_band": "P({band} every year)",
        "col_change": "Change",
        "col_p_floor": "P(≥{low} every year)",
        "col_expected_total": "Expected approvals {span}",
        "scenario_caption": (
            "Monte Carlo, {paths} paths, seed {seed}; ± is one Monte Carlo standard error; changes are paired on "
            "common random numbers."
        ),
        "h_expected_by_year": "Expected approvals per year",
        "h_import": "Import candidates",
        "import_lead": (
            "Upload an ASSETS file (CSV or XLSX). A dry run checks every row and shows what would change; "
            "nothing is written until you commit."
        ),
        "field_file": "File",
        "dry_run": "Dry run",
        "commit": "Commit",
        "import_error": "The file cannot be imported. Nothing was written.",
        "import_more": "and {n} more problem(s) not listed: fix these and run the dry run again",
        "import_count": "{n} problem(s) in the file:",
        "import_preview": "Dry run: nothing written. {summary}",
        "import_done": "Imported: {summary}",
        "import_nothing": "Nothing new in this file.",
        "import_counts": (
            "{file}: {added} new candidate(s), {updated} updated, {events} new event(s) ({known} already known), "
            "{aliases} new alias(es)."
        ),
        "import_needs_editor": "Importing needs an editor or admin account.",
        "col_row": "Row",
        "col_field": "Column",
        "col_problem": "Problem",
        "col_expected_value": "Expected",
        "h_changes": "Changes",
        "h_audit": "Audit log",
        "audit_lead": "Every write: who, when, what changed, from where and the source given. Read-only.",
        "col_when": "When (UTC)",
        "col_who": "Who",
        "col_action": "Action",
        "col_what": "What changed",
        "col_from": "From",
        "col_outcome": "Outcome",
        "audit_count": "{total} entries",
        "no_audit": "Nothing recorded yet.",
        "h_login": "Log in",
        "field_username": "User name",
        "field_password": "Password",
        "login": "Log in",
        "login_failed": "Wrong user name or password.",
        "login_throttled": "Too many refused logins: try again later.",
        "login_needed": "Log in to see this page.",
        "h_error": "Something is wrong",
        "not_found": "Not found: {what}",
        "forbidden": "Your account may not do this.",
        "previous": "Previous",
        "next": "Next",
        "page_of": "{first}–{last} of {total}",
        "footer": (
            "pipecast {version} · charts drawn with plotly.js served by this server; nothing is loaded from elsewhere."
        ),
        "noscript": "The charts need JavaScript; the tables do not.",
    },
    "zh": {
        "app_title": "pipecast",
        "nav_overview": "概览",
        "nav_candidates": "候选药物",
        "nav_forecast": "预测",
        "nav_scenarios": "情景比较",
        "nav_import": "导入",
        "nav_audit": "审计日志",
        "nav_plan": "规划目标",
        "nav_regions": "地区对比",
        "nav_value": "价值",
        "h_plan_page": "规划：目标与判断",
        "h_regions_page": "各地对比",
        "plan_show": "显示",
        "nav_login": "登录",
        "nav_logout": "退出",
        "signed_in_as": "当前用户 {user}（{role}）",
        "role_viewer": "查看者",
        "role_editor": "编辑",
        "role_admin": "管理员",
        "stale_data": "数据可能已过时：所用最新的带日期事件或事实为 {data_as_of}，比预测基准日 {as_of} 早 {days} 天。",
        "language": "语言",
        "h_overview": "管线概览",
        "overview_lead": "截至 {as_of} 记录的管线，以及规划目标 {target}。",
        "h_gauge": "目标：每年获批 {band} 个的概率",
        "gauge_caption": "每个仪表：该年单独获批 {band} 个的概率。{span} 年每年均获批 {band} 个的联合概率为 {p}。",
        "h_data_age": "数据时效",
        "h_funnel_phase": "各阶段候选药物",
        "h_funnel_area": "各治疗领域候选药物",
        "h_funnel_modality": "各药物类型候选药物",
        "funnel_counts_caption": "队列按数量计；包括所有阶段（含已获批）。",
        "unspecified": "（未记录）",
        "h_candidates": "候选药物",
        "search_label": "搜索名称与别名（任意语言）",
        "search_button": "搜索",
        "filter_phase": "阶段",
        "filter_sponsor": "申办方",
        "filter_any": "（不限）",
        "results": "共 {total} 个候选药物",
        "no_results": "没有匹配的候选药物。",
        "col_aliases": "别名",
        "col_area": "治疗领域",
        "col_modality": "药物类型",
        "col_indication": "适应症",
        "h_timeline": "事件时间线",
        "phase_since": "{phase}（自 {date} 起）",
        "h_scenario_files": "情景文件",
        "col_date": "日期",
        "col_event": "事件",
        "col_source": "来源",
        "col_recorded": "记录于",
        "no_source": "（未注明来源）",
        "h_approval_years": "可能获批的年份",
        "approval_caption": (
            "{span} 年各年首次获批的概率；最终获批概率：{p}。依据参数集 {rates}、基准日 {as_of} 的预测。"
        ),
        "already_approved": "已于 {date} 获批。",
        "cohort_note": "由 {count} 个未具名候选药物组成的队列：每个副本的概率如下。",
        "details": "详情",
        "h_forecast": "预测",
        "forecast_form": "运行预测",
        "field_as_of": "预测基准日",
        "field_years": "年份",
        "field_target": "目标",
        "field_rates": "参数集",
        "field_method": "方法",
        "field_paths": "蒙特卡洛路径数",
        "run": "运行预测",
        "h_result": "结果",
        "result_lead": "{span} 年每年均获批 {band} 个的概率：{p}。",
        "h_backtest": "参数集的回测表现",
        "backtest_none": (
            "本服务器没有参数集 {rates} 的回测评分。回测用 `pipecast backtest` 在历史记录上运行，"
            "方法与结果见 docs/validation.md。"
        ),
        "h_scenarios": "情景比较",
        "scenario_base": "参照情景",
        "scenario_other": "比较情景",
        "compare": "比较",
        "no_scenarios": "没有可用的情景文件。",
        "col_scenario": "情景",
        "col_description": "说明",
        "col_p_band": "P(每年 {band})",
        "col_change": "变化",
        "col_p_floor": "P(每年 ≥{low})",
        "col_expected_total": "{span} 年期望获批数",
        "scenario_caption": (
            "蒙特卡洛模拟，{paths} 条路径，随机种子 {seed}；± 为一个蒙特卡洛标准误；变化量基于相同随机数配对计算。"
        ),
        "h_expected_by_year": "每年期望获批数",
        "h_import": "导入候选药物",
        "import_lead": (
            "上传 ASSETS 文件（CSV 或 XLSX）。试运行会检查每一行并显示将发生的变化；提交之前不写入任何内容。"
        ),
        "field_file": "文件",
        "dry_run": "试运行",
        "commit": "提交",
        "import_error": "该文件无法导入，未写入任何内容。",
        "import_more": "另有 {n} 个问题未列出：请先修正以上问题，再试运行一次",
        "import_count": "文件中共有 {n} 个问题：",
        "import_preview": "试运行：未写入任何内容。{summary}",
        "import_done": "已导入：{summary}",
        "import_nothing": "该文件没有新内容。",
        "import_counts": (
            "{file}：新增 {added} 个候选药物，更新 {updated} 个，新增 {events} 个事件（{known} 个已有记录），"
            "新增 {aliases} 个别名。"
        ),
        "import_needs_editor": "导入需要编辑或管理员账户。",
        "col_row": "行",
        "col_field": "列",
        "col_problem": "问题",
        "col_expected_value": "应为",
        "h_changes": "变化",
        "h_audit": "审计日志",
        "audit_lead": "每一次写入：谁、何时、改了什么、来自哪里、给出的来源。只读。",
        "col_when": "时间（UTC）",
        "col_who": "用户",
        "col_action": "操作",
        "col_what": "变化内容",
        "col_from": "来源地址",
        "col_outcome": "结果",
        "audit_count": "共 {total} 条记录",
        "no_audit": "尚无记录。",
        "h_login": "登录",
        "field_username": "用户名",
        "field_password": "密码",
        "login": "登录",
        "login_failed": "用户名或密码错误。",
        "login_throttled": "登录失败次数过多，请稍后再试。",
        "login_needed": "请登录后查看此页面。",
        "h_error": "出错了",
        "not_found": "未找到：{what}",
        "forbidden": "您的账户无权执行此操作。",
        "previous": "上一页",
        "next": "下一页",
        "page_of": "第 {first}–{last} 个，共 {total} 个",
        "footer": "pipecast {version} · 图表使用本服务器提供的 plotly.js 绘制，不从其他地方加载任何内容。",
        "noscript": "图表需要 JavaScript；表格不需要。",
    },
}


def strings(lang: str) -> dict[str, str]:
    """Every word a page may show in `lang`: the report's (phases, chart labels) and the dashboard's."""
    return REPORT_STRINGS[lang] | WEB_STRINGS[lang]


def choose_language(query: str | None, cookie: str | None, default: str) -> str:
    """The page's language: `?lang=`, else the cookie, else the default; anything unknown is ignored."""
    for value in (query, cookie, default):
        if value in LANGUAGES:
            return str(value)
    return "en"


_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(value: dt.date | dt.datetime | str | None, lang: str) -> str:
    """A date as the language writes it: 1 Nov 2025, 2025年11月1日; a date-time adds hh:mm (UTC)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value) if len(value) <= 10 else dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    clock = ""
    if isinstance(value, dt.datetime):
        clock = f" {value:%H:%M}"
        value = value.date()
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日{clock}"
    return f"{value.day} {_EN_MONTHS[value.month - 1]} {value.year}{clock}"


def format_number(value: float, lang: str, digits: int = 0) -> str:
    """A number with the language's grouping (both use 1,234; Chinese spells ten thousands only in words)."""
    del lang  # both languages group digits by three with a comma
    text = f"{value:,.{digits}f}"
    return text.replace("-", "−")


def format_percent(p: float, lang: str) -> str:
    """A probability as the report writes it (never rounding a possibility to 0% or 100%)."""
    del lang
    return format_probability(p)


def phase_label(phase: str, t: dict[str, Any]) -> str:
    return str(t.get(f"phase_{phase}", phase))
