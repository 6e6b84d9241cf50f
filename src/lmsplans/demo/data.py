"""The demo's data: names, courses and the learning plans it builds."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_ORG = "Zylker Corp"
OTHER_ORG = "Acme Widgets"

FIRST_NAMES = [
    "Aarav",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Ethan",
    "Amelia",
    "Arjun",
    "Isla",
    "Leo",
    "Chloe",
    "Kenji",
    "Yuki",
    "Omar",
    "Layla",
    "Diego",
    "Lucia",
    "Hugo",
    "Clara",
    "Felix",
    "Nora",
    "Ravi",
    "Priya",
    "Samuel",
    "Grace",
    "Ibrahim",
    "Fatima",
    "Jonas",
    "Elena",
    "Tomas",
    "Hana",
    "Victor",
    "Zara",
    "Daniel",
    "Ines",
]
LAST_NAMES = [
    "Sharma",
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Tanaka",
    "Khan",
    "Silva",
    "Dubois",
    "Kowalski",
    "Nguyen",
    "Okafor",
    "Jensen",
    "Haddad",
    "Novak",
    "Costa",
    "Ivanova",
    "Park",
    "Fischer",
    "Moreau",
    "Lopez",
    "Ahmed",
    "Brown",
    "Nakamura",
    "Patel",
    "Weber",
    "Santos",
    "Andersen",
    "Mehta",
    "Kaya",
]
COURSES = (
    "Information Security Essentials",
    "Code of Conduct",
    "Anti-Bribery and Corruption",
    "Data Protection and Privacy",
    "Workplace Safety",
    "Diversity and Inclusion",
    "Giving and Receiving Feedback",
    "Effective One-on-Ones",
    "Coaching Conversations",
    "Delegation That Works",
    "Leading Through Change",
    "Hiring Without Bias",
    "Customer Empathy",
    "Handling Difficult Customers",
    "Product Fundamentals",
    "Negotiation Basics",
    "Presentation Skills",
    "Writing for Work",
    "Time Management",
    "Project Planning",
    "Agile Foundations",
    "Spreadsheet Skills",
    "Financial Literacy",
    "Wellbeing at Work",
    "Remote Collaboration",
    "First Aid Awareness",
    "Phishing Awareness",
    "Export Control Basics",
    "Accessibility Basics",
    "Sustainability at Zylker",
)


@dataclass(frozen=True, slots=True)
class PlanSpec:
    name: str
    duration: int
    duration_type: int  # 0 days, 1 weeks, 2 months
    image: str
    # (course index, level, mandatory, locked until the previous level is complete)
    courses: tuple[tuple[int, int, bool, bool], ...]


PLANS = (
    PlanSpec(
        "New Joiner Onboarding",
        30,
        0,
        "23",
        (
            (1, 1, True, False),
            (0, 1, True, False),
            (4, 1, False, False),
            (14, 2, True, True),
            (17, 2, False, True),
        ),
    ),
    PlanSpec(
        "Annual Compliance 2026",
        6,
        1,
        "12",
        (
            (1, 1, True, False),
            (2, 1, True, False),
            (3, 1, True, False),
            (26, 2, True, True),
            (27, 2, False, False),
        ),
    ),
    PlanSpec(
        "Leadership Foundations",
        3,
        2,
        "7",
        (
            (6, 1, True, False),
            (7, 1, True, False),
            (8, 2, True, True),
            (9, 2, False, True),
            (10, 3, True, True),
            (11, 3, False, True),
        ),
    ),
    PlanSpec(
        "Customer Excellence",
        45,
        0,
        "31",
        ((12, 1, True, False), (13, 1, True, False), (15, 2, False, False), (16, 2, False, False)),
    ),
    PlanSpec(
        "Security Champions",
        8,
        1,
        "4",
        ((0, 1, True, False), (26, 1, True, False), (3, 2, True, True)),
    ),
    PlanSpec(
        "Project Delivery",
        2,
        2,
        "18",
        ((19, 1, True, False), (20, 1, False, False), (18, 2, True, True), (21, 2, False, False)),
    ),
    PlanSpec(
        "Working Well",
        60,
        0,
        "9",
        ((23, 1, True, False), (24, 1, False, False), (5, 1, False, False), (25, 2, False, False)),
    ),
    PlanSpec(
        "Finance for Non-Finance",
        4,
        1,
        "27",
        ((22, 1, True, False), (21, 1, True, False), (28, 2, False, True)),
    ),
)
