"""Every visible word of the report, one dictionary per language."""

from __future__ import annotations

LANGUAGES = ("en", "zh")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Class 1 innovative drug approvals: forecast",
        "meta": (
            "As of {as_of} · data as of {data_as_of} · rate set {rates} · {candidates} candidates in "
            "{rows} rows · method: {method}"
        ),
        "h_headline": "Probability the target is met",
        "target_label": "Target {target}: {band} approvals in every year of {span}",
        "headline": (
            "With the pipeline on record on {as_of}, the probability of {band} approvals in every year "
            "of {span} is {p}."
        ),
        "headline_floor": "The probability of at least {low} approval(s) in every year of {span} is {p}.",
        "verdict": "In plain words: meeting the target is {verdict}.",
        "verdict_0": "very unlikely",
        "verdict_1": "unlikely",
        "verdict_2": "about as likely as not",
        "verdict_3": "likely",
        "verdict_4": "very likely",
        "missing_years": ("Target years outside the forecast range, left out of the probabilities above: {years}."),
        "per_year_caption": "Each year on its own.",
        "col_year": "Year",
        "col_in_band": "P({band})",
        "col_at_least": "P(≥{low})",
        "col_expected": "Expected",
        "col_range90": "90% range",
        "col_observed": "On record",
        "h_fan": "Approvals per year",
        "fan_caption": (
            "Shaded: the middle 90% (5–95%) and middle 50% (25–75%) of the yearly count; solid line: "
            "expected number; dotted: median; diamonds: approvals already on record; green box: the target "
            "band. Counts are whole numbers per calendar year, so each year is drawn as a flat step."
        ),
        "fan_band90": "5–95%",
        "fan_band50": "25–75%",
        "fan_expected": "expected",
        "fan_median": "median",
        "fan_observed": "on record",
        "fan_target": "target {band}",
        "axis_year": "year",
        "axis_approvals": "approvals in the year",
        "h_pmf": "Distribution of the yearly count",
        "pmf_caption": (
            "Probability of each number of approvals per year; the shaded band and green bars mark counts "
            "that meet the target in the target's years."
        ),
        "pmf_sub_target": "{year} · P({band}) = {p}",
        "pmf_sub_other": "{year} · expected {expected}",
        "axis_count": "approvals",
        "axis_candidates": "candidates",
        "axis_probability": "probability",
        "h_contributors": "Candidates that carry the target",
        "contributors_caption": (
            "How many percentage points the probability of at least {low} approval(s) in every year of "
            "{span} would drop without this candidate (one copy for a cohort)."
        ),
        "col_candidate": "Candidate",
        "col_id": "ID",
        "col_phase": "Phase",
        "col_copies": "Copies",
        "col_p_range": "P(approved {span})",
        "col_delta": "Adds to P(≥{low} every year), percentage points",
        "delta_tiny": "less than 0.1",
        "delta_zero": "0",
        "no_contributors": "No candidate can be approved in the target's years.",
        "h_candidates": "Every candidate",
        "candidates_caption": (
            "Probability that each candidate (one copy for a cohort) is first approved in each year, and "
            "ever; sorted by the probability of ever being approved."
        ),
        "col_name": "Name",
        "candidates_more": "Every candidate, continued: {span}",
        "col_sponsor": "Sponsor",
        "col_since": "In phase since",
        "col_p_ever": "P(ever approved)",
        "h_funnel": "Pipeline by phase",
        "funnel_caption": ("Candidates (cohorts counted by their copies) in each phase on {as_of}."),
        "funnel_inactive": "Not shown, they cannot be approved: {items}.",
        "h_assumptions": "Assumptions and method",
        "as_of": "As-of date",
        "rate_set": "Rate set",
        "rate_origin": "Origin",
        "rate_file": "file {name}",
        "rate_description": "Description",
        "years": "Forecast years",
        "target": "Target",
        "method": "Method",
        "candidates": "Candidates",
        "candidates_value": "{candidates} in {rows} rows",
        "bundled": "bundled with pipecast",
        "method_text": (
            "Each candidate goes through its remaining phases. Each phase succeeds with the rate set's "
            "probability and lasts a lognormal time given by the rate set's median and 90th percentile; "
            "the current phase is measured from the date the candidate entered it and conditioned on not "
            "having ended by the as-of date. This gives each candidate's probability of first approval in "
            "each calendar year. The yearly count is the sum of these outcomes (a Poisson-binomial "
            "distribution, computed: {method}). The probability of meeting the target in every year is "
            "computed jointly over the years, because a candidate can be approved only once; it is not the "
            "product of the yearly probabilities."
        ),
        "cohort_text": (
            'Cohorts: a row with a count n (for example "5 unnamed phase 1 candidates") is counted as n '
            "independent copies with the same probabilities. If candidates in a cohort share a sponsor or "
            "science their outcomes are correlated and the true spread is wider than shown."
        ),
        "scope_text": (
            "Only candidates on record on the as-of date are counted. Candidates that enter the pipeline "
            "later are not, so later years show what today's pipeline delivers, not everything the region "
            "may achieve."
        ),
        "mc_text": "Monte Carlo standard errors are included in the data embedded in this file.",
        "h_rates": "Rate rows",
        "rates_caption": (
            "Every row of the rate set. The most specific row matching a candidate's phase, therapeutic "
            "area and modality is used; general rows (no area, no modality) cover the rest."
        ),
        "col_area": "Area",
        "col_modality": "Modality",
        "col_p_success": "P(success)",
        "col_median": "Median, months",
        "col_p90": "P90, months",
        "col_source": "Source and note (click to open)",
        "col_note": "Note",
        "any": "(any)",
        "footer": (
            "Generated by pipecast {version}. The numbers behind every chart and table are embedded in "
            "this file in machine-readable form (JSON). Charts: plotly.js, embedded; the page loads "
            "nothing from the network."
        ),
        "noscript": "The charts need JavaScript; the tables and the embedded data do not.",
        "phase_preclinical": "preclinical",
        "phase_phase1": "phase 1",
        "phase_phase2": "phase 2",
        "phase_phase3": "phase 3",
        "phase_filed": "filed (NDA/BLA)",
        "phase_approved": "approved",
        "phase_discontinued": "discontinued",
        "phase_suspended": "suspended",
        "method_exact": "exact calculation",
        "method_montecarlo": "Monte Carlo simulation",
        "data_as_of": "Data as of",
        "data_unknown": "unknown",
        "data_age": "Data as of {data_as_of}: the latest dated event or fact used, {days} days before the as-of date.",
        "data_age_none": "No dated event or fact was used: how old the data is cannot be told.",
        "h_warnings": "Read before quoting these numbers",
        "stale_badge": "stale",
        "stale_title": "no recorded event for a long time",
        "stale_count": (
            "{n} candidate(s) marked stale: nothing has been recorded about them for years, so their "
            "probabilities rest on old information."
        ),
        "stale_share": "Without them the probability that the target is met would be {without} instead of {p}.",
    },
    "zh": {
        "title": "1类创新药获批数量预测",
        "meta": (
            "预测基准日 {as_of} · 数据更新至 {data_as_of} · 参数集 {rates} · 共 {candidates} 个候选药物"
            "（{rows} 行） · 方法：{method}"
        ),
        "h_headline": "目标达成概率",
        "target_label": "目标 {target}：{span} 年每年获批 {band} 个",
        "headline": "按 {as_of} 已记录的管线，{span} 年每年均获批 {band} 个的概率为 {p}。",
        "headline_floor": "{span} 年每年至少获批 {low} 个的概率为 {p}。",
        "verdict": "通俗地说：达成目标{verdict}。",
        "verdict_0": "极不可能",
        "verdict_1": "不太可能",
        "verdict_2": "可能性约为一半",
        "verdict_3": "较有可能",
        "verdict_4": "极有可能",
        "missing_years": "以下目标年份超出预测范围，未计入上述概率：{years}。",
        "per_year_caption": "逐年单独计算。",
        "col_year": "年份",
        "col_in_band": "P({band})",
        "col_at_least": "P(≥{low})",
        "col_expected": "期望值",
        "col_range90": "90% 区间",
        "col_observed": "已获批",
        "h_fan": "每年获批数量预测",
        "fan_caption": (
            "阴影：每年获批数量的中间 90%（5–95%）与中间 50%（25–75%）区间；实线：期望值；点线：中位数；"
            "菱形：已获批记录；绿色区域：目标区间。获批数量按自然年计且为整数，因此每年画成一段水平台阶。"
        ),
        "fan_band90": "5–95%",
        "fan_band50": "25–75%",
        "fan_expected": "期望值",
        "fan_median": "中位数",
        "fan_observed": "已获批",
        "fan_target": "目标 {band}",
        "axis_year": "年份",
        "axis_approvals": "当年获批数量",
        "h_pmf": "每年获批数量的概率分布",
        "pmf_caption": ("每年获批不同数量的概率；在目标年份中，阴影区间与绿色柱表示达成目标的数量。"),
        "pmf_sub_target": "{year} · P({band}) = {p}",
        "pmf_sub_other": "{year} · 期望 {expected}",
        "axis_count": "获批数量",
        "axis_candidates": "候选药物数量",
        "axis_probability": "概率",
        "h_contributors": "对目标贡献最大的候选药物",
        "contributors_caption": (
            "去掉该候选药物（队列只去掉一个）后，{span} 年每年至少获批 {low} 个的概率会下降多少个百分点。"
        ),
        "col_candidate": "候选药物",
        "col_id": "编号",
        "col_phase": "阶段",
        "col_copies": "数量",
        "col_p_range": "P({span} 获批)",
        "col_delta": "对 P(每年≥{low}) 的贡献（百分点）",
        "delta_tiny": "不到 0.1",
        "delta_zero": "0",
        "no_contributors": "没有候选药物能在目标年份获批。",
        "h_candidates": "全部候选药物",
        "candidates_caption": ("每个候选药物（队列按单个计）在各年首次获批及最终获批的概率，按最终获批概率排序。"),
        "col_name": "名称",
        "candidates_more": "全部候选药物（续）：{span} 年",
        "col_sponsor": "申办方",
        "col_since": "进入当前阶段",
        "col_p_ever": "P(最终获批)",
        "h_funnel": "各阶段管线分布",
        "funnel_caption": "{as_of} 各阶段的候选药物数量（队列按数量计）。",
        "funnel_inactive": "未列出（不会获批）：{items}。",
        "h_assumptions": "假设与方法",
        "as_of": "预测基准日",
        "rate_set": "参数集",
        "rate_origin": "来源",
        "rate_file": "文件 {name}",
        "rate_description": "说明",
        "years": "预测年份",
        "target": "目标",
        "method": "方法",
        "candidates": "候选药物",
        "candidates_value": "{candidates} 个（{rows} 行）",
        "bundled": "pipecast 内置",
        "method_text": (
            "每个候选药物依次经历其余各阶段：每个阶段按参数集中的成功概率推进，持续时间服从对数正态分布"
            "（由参数集的中位数与第 90 百分位数确定）；当前阶段从进入之日起计算，并以截至日尚未结束为条件。"
            "由此得到每个候选药物在各自然年首次获批的概率。每年获批数量是这些结果之和（泊松二项分布，"
            "计算方式：{method}）。每年均达成目标的概率按各年联合计算（同一药物只能获批一次），"
            "而不是各年概率的乘积。"
        ),
        "cohort_text": (
            "队列：数量为 n 的一行（例如“5 个未具名的 I 期候选药物”）按 n 个相互独立、概率相同的副本计算。"
            "若同一队列的药物来自同一申办方或同一技术，其结果相关，实际的不确定性比图中更大。"
        ),
        "scope_text": (
            "只计入截至日已记录的候选药物；之后新进入管线的药物未计入，因此较远年份反映的是现有管线的产出，"
            "而不是本地区可能达到的全部。"
        ),
        "mc_text": "蒙特卡洛标准误见本文件内嵌的数据。",
        "h_rates": "参数表",
        "rates_caption": (
            "参数集的全部行。对每个候选药物，使用与其阶段、治疗领域和药物类型最匹配的一行；"
            "通用行（不限领域与类型）覆盖其余情形。"
        ),
        "col_area": "治疗领域",
        "col_modality": "药物类型",
        "col_p_success": "成功概率",
        "col_median": "中位时长（月）",
        "col_p90": "P90（月）",
        "col_source": "来源与备注（点击展开）",
        "col_note": "备注",
        "any": "（不限）",
        "footer": (
            "由 pipecast {version} 生成。各图表与表格背后的数据以机器可读的形式（JSON）内嵌于本文件。"
            "图表使用内嵌的 plotly.js，页面不从网络加载任何内容。"
        ),
        "noscript": "图表需要 JavaScript；表格与内嵌数据不需要。",
        "phase_preclinical": "临床前",
        "phase_phase1": "I期",
        "phase_phase2": "II期",
        "phase_phase3": "III期",
        "phase_filed": "已申报上市",
        "phase_approved": "已获批",
        "phase_discontinued": "已终止",
        "phase_suspended": "暂停",
        "method_exact": "精确计算",
        "method_montecarlo": "蒙特卡洛模拟",
        "data_as_of": "数据更新至",
        "data_unknown": "未知",
        "data_age": "数据更新至 {data_as_of}（所用数据中最新的带日期事件或事实），比预测基准日早 {days} 天。",
        "data_age_none": "未使用任何带日期的事件或事实，无法判断数据的新旧。",
        "h_warnings": "引用这些数字之前请注意",
        "stale_badge": "久未更新",
        "stale_title": "长期没有新的记录",
        "stale_count": "{n} 个候选药物标记为“久未更新”：多年没有新的记录，其概率依据的是旧信息。",
        "stale_share": "若不计这些候选药物，达成目标的概率将是 {without}，而不是 {p}。",
        "warnings_original": "预测程序给出的原始提示（英文）",
        "sentence_gap": "",
        "cohort_name": "未单独列出的{phase}候选药物（合并计算）",
        "rate_desc_global": "BIO/Informa/QLS 2011–2020 年各阶段成功率（仅在该来源核实的项目使用 BIO 2006–2015）",
        "rate_desc_china": "全球各阶段成功率，申报上市阶段采用国家药监局（NMPA）审评时长（中国）",
    },
}
