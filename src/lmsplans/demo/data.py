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
    # Its courses in order, "index:level" (into COURSES), M when mandatory, L when locked
    # until the previous level is complete: "14:2ML".
    layout: str

    @property
    def courses(self) -> tuple[tuple[int, int, bool, bool], ...]:
        """(course index, level, mandatory, locked) of each course, in order."""
        courses = []
        for item in self.layout.split():
            index, _, rest = item.partition(":")
            level = rest.rstrip("ML")
            flags = rest[len(level) :]
            courses.append((int(index), int(level), "M" in flags, "L" in flags))
        return tuple(courses)


PLANS = (
    PlanSpec("New Joiner Onboarding", 30, 0, "23", "1:1M 0:1M 4:1 14:2ML 17:2L"),
    PlanSpec("Annual Compliance 2026", 6, 1, "12", "1:1M 2:1M 3:1M 26:2ML 27:2"),
    PlanSpec("Leadership Foundations", 3, 2, "7", "6:1M 7:1M 8:2ML 9:2L 10:3ML 11:3L"),
    PlanSpec("Customer Excellence", 45, 0, "31", "12:1M 13:1M 15:2 16:2"),
    PlanSpec("Security Champions", 8, 1, "4", "0:1M 26:1M 3:2ML"),
    PlanSpec("Project Delivery", 2, 2, "18", "19:1M 20:1 18:2ML 21:2"),
    PlanSpec("Working Well", 60, 0, "9", "23:1M 24:1 5:1 25:2"),
    PlanSpec("Finance for Non-Finance", 4, 1, "27", "22:1M 21:1M 28:2L"),
)
# A draft of the demo organisation, and the second organisation's one plan and its courses.
DRAFT_PLAN = PlanSpec("Data Literacy (draft)", 30, 0, "15", "21:1")
OTHER_ORG_COURSES = ("Widget Safety", "Acme Code of Conduct", "Quality Basics")
OTHER_ORG_PLAN = PlanSpec("Acme Induction", 14, 0, "3", "0:1M 1:1M 2:1M")
