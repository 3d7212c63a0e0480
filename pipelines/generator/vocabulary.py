"""The code lists every part of the generator shares: profiles, absence categories and the
codes each profile writes for them, intervention types and the roles that record them."""

from __future__ import annotations

PROFILES = ("lesson_marks_csv", "daily_summary_jsonl", "weekly_totals_xlsx")

# Category index = position; the same order in every profile's vocabulary.
CATEGORIES = ("illness", "authorised", "unauthorised", "unexplained", "late", "school_business")
MARK_CODES = ("S", "L", "LV", "SE", "M", "K")
JSONL_CODES = ("ILLNESS", "AUTHORISED", "UNAUTHORISED", "UNEXPLAINED", "LATE", "SCHOOL_BUSINESS")
XLSX_COLUMNS = ("sairaus", "luvallinen", "luvaton", "selvittamaton", "myohastymiset")
ABSENT_CATEGORIES = 4  # categories 0..3 count as absence
LATE, SCHOOL_BUSINESS = 4, 5

# (type, Finnish name, tier, csv code, jsonl type), DESIGN §6.2.
INTERVENTION_TYPES = (
    ("concern_raised", "Huolen puheeksi ottaminen", "targeted", "HUOLI", "guardian_contact"),
    (
        "background_investigation",
        "Taustasyiden selvittäminen",
        "targeted",
        "TAUSTA",
        "background_assessment",
    ),
    (
        "targeted_work",
        "Kohdennettu työskentely yksilöllisesti tai ryhmässä",
        "targeted",
        "KOHD",
        "targeted_work",
    ),
    (
        "learning_difficulty_assessment",
        "Oppimisvaikeuksien selvittäminen",
        "targeted",
        "OPVAIK",
        "learning_assessment",
    ),
    (
        "support_level_review",
        "Pedagogisen tuen tason tarkastaminen",
        "targeted",
        "TUKITASO",
        "support_review",
    ),
    (
        "intensified_learning_support",
        "Tehostetut oppimisen tukitoimet",
        "targeted",
        "TEHOST",
        "intensified_support",
    ),
    ("service_guidance", "Palveluohjaus", "targeted", "PALVELU", "service_referral"),
    ("consultation", "Konsultaatio", "targeted", "KONS", "consultation"),
    (
        "individual_attendance_plan",
        "Yksilöllinen suunnitelma läsnäolon tukemiseksi",
        "intensive",
        "SUUNN",
        "attendance_plan",
    ),
    (
        "multi_professional_group",
        "Monialainen asiantuntijaryhmä",
        "intensive",
        "MONIAL",
        "multi_professional_group",
    ),
    (
        "flexible_arrangements",
        "Joustavat opetusjärjestelyt",
        "intensive",
        "JOUSTO",
        "flexible_arrangements",
    ),
    (
        "special_pedagogical_arrangements",
        "Pedagogiset erityisjärjestelyt",
        "intensive",
        "ERITYIS",
        "special_arrangements",
    ),
    ("school_coach", "Kouluvalmentajan työskentely", "targeted", "VALMENT", "school_coach"),
)
_IV = {row[0]: i for i, row in enumerate(INTERVENTION_TYPES)}

ROLES = (
    "opettaja",
    "kuraattori",
    "terveydenhoitaja",
    "rehtori",
    "psykologi",
    "erityisopettaja",
    "kouluvalmentaja",
)
