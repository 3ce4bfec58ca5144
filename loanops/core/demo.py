"""Demo data: a realistic, reproducible auto-loan portfolio for `make run` and demos.

    context = build_demo(loans=400, seed=2026)

The *core step* builds the organisation (HO → 3 institutions → 2 branches each), a user of
every role, the demo API client, dealers and insurers, and the loans `DEMO-000001`… with
their payments. Everything goes through the real services (`branch_upsert`,
`api_client_create`, `loan_upsert`, `payments_post`, `payment_reverse`), upserting by
natural keys, so running it again changes nothing.

Reproducible: the portfolio is a pure function of (seed, loan count, business date), see
`plan_portfolio`. Loan *i* draws from its own random streams, so `--loans 60` gives the
first 60 loans of `--loans 400`. The first 50 loans hold every payment behaviour (so from 50
loans up every arrears bucket appears); each later block of 100 has a healthier mix. The
services are called as the demo administrator (a superuser).

Extension point: other apps add their own demo objects with a step, in a module named
`demo.py` at the top of the app (found automatically, like `admin.py`):

    # loan_collections/demo.py
    from loanops.core.demo import DemoContext, demo_step

    @demo_step(order=20)
    def promises_to_pay(*, rng: random.Random, context: DemoContext) -> None:
        ...

Steps run after the core step in `order` (then name). A step that needs what the nightly chain
creates (collection cases, credit files, inspections due) registers with `after_nightly=True`:
`seed_demo` runs those after the six months of nightly runs, with the same context:

    @demo_step(order=20, after_nightly=True)
    def contacts_and_promises(*, rng, context): ...

 Each gets its own random stream
(seeded from the seed and the step's name, so adding a step does not change the others)
and must be idempotent too: upsert by natural keys, go through services.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pghistory
from django.contrib.auth.hashers import make_password
from django.utils.module_loading import autodiscover_modules

from loanops.core.exceptions import ApplicationError
from loanops.core.time import business_date
from loanops.org.models import Branch, Role, User
from loanops.org.services.api_clients import api_client_create
from loanops.org.services.branches import branch_upsert
from loans.api.serializers import LoanInputSerializer
from loans.models import Dealer, Insurer, Loan, ParameterSet, Payment, Product
from loans.schedules import ScheduleLine, add_months, generate_schedule
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payment_reverse, payments_post

# Documented in the README and printed by `manage.py demo_logins`. Passes Django's validators.
DEMO_PASSWORD = "loanops-demo-2026"  # noqa: S105  (a documented demo password)
DEMO_SEED = 2026
DEMO_LOANS = 400
# `JobRun(job="seed_demo", business_date=2000-01-01)` marks the demo as loaded; its summary
# keeps the seed and the business date the portfolio was built for.
DEMO_JOB = "seed_demo"
DEMO_MARKER_DATE = date(2000, 1, 1)
API_CLIENT_NAME = "demo-core-banking"
LOAN_PREFIX = "DEMO-"
PAYMENT_PREFIX = "DEMO-PAY-"
DEMO_PRODUCT = "AUTO"
CENT = Decimal("0.01")


class DemoError(ApplicationError):
    """The demo could not be built (a service rejected a demo loan or payment)."""


def demo_loan_number(index: int) -> str:
    return f"{LOAN_PREFIX}{index:06d}"


# --------------------------------------------------------------------------- #
# Extension point
# --------------------------------------------------------------------------- #
@dataclass
class DemoContext:
    """What the core step built, handed to every later step."""

    today: date  # the business date the portfolio is built for
    seed: int
    branches: dict[str, Branch] = field(default_factory=dict)  # by code, head office first
    users: dict[str, list[User]] = field(default_factory=dict)  # by Role value
    loans: list[Loan] = field(default_factory=list)  # created or updated by this run, in number order
    profiles: dict[str, str] = field(default_factory=dict)  # loan number → payment behaviour
    acting_user: User | None = None  # who posts the demo loans and payments: the administrator
    counts: dict[str, int] = field(default_factory=dict)  # for the summary line; steps may add

    def users_with(self, role: str, branch_code: str | None = None) -> list[User]:
        """Users of ROLE; with BRANCH_CODE, only those whose branches cover it (the branch itself,
        its institution or the head office), e.g. `users_with(Role.CREDIT_HEAD, "NOR-BIL")`."""
        users = self.users.get(role, [])
        if branch_code is None:
            return users
        path = self.branches[branch_code].path
        return [
            user
            for user in users
            if any(path.startswith(self.branches[code].path) for code in STAFF_BRANCHES.get(user.username, ()))
        ]


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    func: Callable[..., None]
    after_nightly: bool = False


_STEPS: dict[str, DemoStep] = {}


def demo_step(order: int, *, name: str | None = None, after_nightly: bool = False) -> Callable:
    """Register `func(*, rng: random.Random, context: DemoContext) -> None` as a demo step."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        key = name or f"{func.__module__}.{func.__qualname__}"
        _STEPS[key] = DemoStep(name=key, order=order, func=func, after_nightly=after_nightly)
        return func

    return register


def demo_steps(*, after_nightly: bool = False) -> list[DemoStep]:
    """The registered steps of one phase in running order (every installed app's `demo` module is
    imported first)."""
    autodiscover_modules("demo")
    steps = [step for step in _STEPS.values() if step.after_nightly == after_nightly]
    return sorted(steps, key=lambda step: (step.order, step.name))


def build_demo_after_nightly(context: DemoContext, *, progress: Callable[[str], None] | None = None) -> DemoContext:
    """The steps that work on what the nightly chain created (cases, files, inspections)."""
    say = progress or (lambda message: None)
    with pghistory.context(job=DEMO_JOB, seed=context.seed, as_of=context.today.isoformat()):
        for step in demo_steps(after_nightly=True):
            say(f"step {step.name}")
            step.func(rng=_rng(context.seed, "step", step.name), context=context)
    return context


def _rng(seed: int, *parts: object) -> random.Random:
    """An independent, reproducible random stream (string seeds do not depend on PYTHONHASHSEED)."""
    return random.Random(":".join(str(p) for p in (seed, *parts)))  # noqa: S311  (reproducible, not secret)


def build_demo(
    *, loans: int, seed: int, today: date | None = None, progress: Callable[[str], None] | None = None
) -> DemoContext:
    """Build (or bring up to date) the demo: the core step, then every registered step in order."""
    if loans < 0:
        raise ValueError("loans must be >= 0")
    context = DemoContext(today=today or business_date(), seed=seed)
    say = progress or (lambda message: None)
    with pghistory.context(job=DEMO_JOB, seed=seed, as_of=context.today.isoformat()):
        _core_step(context=context, loans=loans, say=say)
        for step in demo_steps():
            say(f"step {step.name}")
            step.func(rng=_rng(seed, "step", step.name), context=context)
    return context


# --------------------------------------------------------------------------- #
# Reference data: the organisation, its people, dealers, insurers, vehicles, names
# --------------------------------------------------------------------------- #
HEAD_OFFICE = ("HO", "Servicios Centrales")


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    institution: str
    city: str
    slug: str
    postcode: str  # province prefix
    weight: float  # share of the portfolio


INSTITUTIONS = (
    ("NORTE", "Territorial Norte", "norte"),
    ("SUR", "Territorial Sur", "sur"),
    ("CENTRO", "Territorial Centro", "centro"),
)
BRANCHES = (
    BranchSpec("NOR-BIL", "Oficina Bilbao · Gran Vía", "NORTE", "Bilbao", "bilbao", "48", 1.2),
    BranchSpec("NOR-SDR", "Oficina Santander · Paseo de Pereda", "NORTE", "Santander", "santander", "39", 0.8),
    BranchSpec("SUR-SEV", "Oficina Sevilla · Nervión", "SUR", "Sevilla", "sevilla", "41", 1.0),
    BranchSpec("SUR-MLG", "Oficina Málaga · Calle Larios", "SUR", "Málaga", "malaga", "29", 0.9),
    BranchSpec("CEN-MAD", "Oficina Madrid · Chamberí", "CENTRO", "Madrid", "madrid", "28", 1.6),
    BranchSpec("CEN-TOL", "Oficina Toledo · Zocodover", "CENTRO", "Toledo", "toledo", "45", 0.6),
)
BRANCH_BY_CODE = {b.code: b for b in BRANCHES}


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str
    branch_codes: tuple[str, ...]
    phone: str
    language: str = "es"


_STAFF_NAMES = (
    ("Lucía", "Martín Echevarría"),
    ("Iker", "Goikoetxea Ruiz"),
    ("Ainhoa", "Uriarte Sáez"),
    ("Jon", "Bilbao Larrea"),
    ("Marta", "Gómez Cuesta"),
    ("Pablo", "Herrera Sainz"),
    ("Nerea", "Ortiz Revuelta"),
    ("Sergio", "Calderón Pardo"),
    ("Rocío", "Jiménez Vargas"),
    ("Manuel", "Romero Castillo"),
    ("Carmen", "Delgado Ríos"),
    ("Antonio", "Navarro Molina"),
    ("Alba", "Moreno Ruiz"),
    ("Javier", "Muñoz Torres"),
    ("Inmaculada", "Ramos Gil"),
    ("Francisco", "Serrano Lara"),
    ("Elena", "García López"),
    ("David", "Fernández Sanz"),
    ("Patricia", "Sánchez Álvarez"),
    ("Álvaro", "Díaz Moreno"),
    ("Cristina", "Pérez Rubio"),
    ("Raúl", "Martínez Cano"),
    ("Beatriz", "Gutiérrez Vega"),
    ("Jorge", "Hernández Prieto"),
    ("Itziar", "Zubiaurre Olano"),
    ("Mikel", "Arrieta Bengoa"),
    ("Amaia", "Etxeberria Goñi"),
    ("Consuelo", "Ruiz Marín"),
    ("Rafael", "Cortés Benítez"),
    ("Pilar", "Medina Ortega"),
    ("Luis", "Castro Vidal"),
    ("Teresa", "Morales Peña"),
    ("Fernando", "Iglesias Soto"),
    ("Isabel", "Vázquez Blanco"),
    ("Andrés", "Lozano Crespo"),
    ("Nuria", "Pascual Herrero"),
    ("Sofía", "León Carrasco"),
    ("Ramón", "Aguilar Fuentes"),
    ("Emma", "Clarke"),
    ("Miguel", "Santos Reyes"),
)


def _staff_plan() -> tuple[StaffSpec, ...]:
    """Every demo user, in the order demo_logins picks one per role. Fixed: independent of the seed."""
    names = iter(_STAFF_NAMES)
    staff: list[StaffSpec] = []

    def add(username: str, role: str, branch_codes: list[str], language: str = "es") -> None:
        first, last = next(names)
        phone = f"+34 910 {len(staff) + 100:03d} {len(staff) * 7 % 1000:03d}"
        staff.append(StaffSpec(username, first, last, role, tuple(branch_codes), phone, language))

    for b in BRANCHES:
        add(f"officer1.{b.slug}", Role.CREDIT_OFFICER, [b.code])
        add(f"officer2.{b.slug}", Role.CREDIT_OFFICER, [b.code])
        add(f"collector.{b.slug}", Role.COLLECTOR, [b.code])
        add(f"manager.{b.slug}", Role.BRANCH_MANAGER, [b.code])
    for code, _name, slug in INSTITUTIONS:
        add(f"credithead.{slug}", Role.CREDIT_HEAD, [code])
        add(f"archivist.{slug}", Role.ARCHIVIST, [code])
        add(f"vault1.{slug}", Role.VAULT_CUSTODIAN, [code])
        add(f"vault2.{slug}", Role.VAULT_CUSTODIAN, [code])
    add("risk", Role.RISK, [HEAD_OFFICE[0]])
    add("risk2", Role.RISK, [HEAD_OFFICE[0]])
    add("auditor", Role.AUDITOR, [HEAD_OFFICE[0]], language="en")
    add("admin", Role.ADMIN, [HEAD_OFFICE[0]])
    return tuple(staff)


STAFF = _staff_plan()
STAFF_BRANCHES = {s.username: s.branch_codes for s in STAFF}
OFFICERS_BY_BRANCH = {
    b.code: [s.username for s in STAFF if s.role == Role.CREDIT_OFFICER and s.branch_codes == (b.code,)]
    for b in BRANCHES
}


@dataclass(frozen=True)
class PartySpec:
    external_id: str
    name: str
    institution: str | None = None  # None: works with every institution
    prefix: str = ""  # insurers: policy-number prefix


DEALERS = (
    PartySpec("DEMO-D-01", "Motor Bizkaia", "NORTE"),
    PartySpec("DEMO-D-02", "Autos Cantábrico", "NORTE"),
    PartySpec("DEMO-D-03", "Automóviles Guadalquivir", "SUR"),
    PartySpec("DEMO-D-04", "Concesionario Costa del Sol", "SUR"),
    PartySpec("DEMO-D-05", "Automoción Chamberí", "CENTRO"),
    PartySpec("DEMO-D-06", "Vehículos Imperial Toledo", "CENTRO"),
    PartySpec("DEMO-D-07", "Red Ibérica de Automoción"),
    PartySpec("DEMO-D-08", "Seminuevos Meseta"),
)
INSURERS = (
    PartySpec("DEMO-I-1", "Seguros Atalaya", prefix="ATA"),
    PartySpec("DEMO-I-2", "Previsión Ibérica", prefix="PIB"),
    PartySpec("DEMO-I-3", "Mutua Levante Protección", prefix="MLP"),
)

# (make and model, new price range in euros, VIN world manufacturer identifier)
VEHICLES = (
    ("Seat Ibiza 1.0 TSI Style", 15_500, 19_500, "VSS"),
    ("Seat León 1.5 TSI FR", 24_000, 31_000, "VSS"),
    ("Cupra Formentor 1.5 TSI", 34_000, 44_000, "VSS"),
    ("Renault Clio TCe 90 Evolution", 16_000, 19_500, "VF1"),
    ("Dacia Sandero Stepway TCe 100", 13_000, 17_000, "UU1"),
    ("Peugeot 208 PureTech 100 Allure", 17_500, 22_000, "VF3"),
    ("Citroën C4 PureTech 130 Shine", 23_000, 29_000, "VF7"),
    ("Toyota Corolla 140H Active Tech", 27_000, 33_000, "SB1"),
    ("Toyota C-HR 140H Advance", 30_000, 36_000, "SB1"),
    ("Hyundai Tucson 1.6 T-GDI Maxx", 31_000, 39_000, "KMH"),
    ("Kia Sportage 1.6 T-GDi Drive", 31_000, 40_000, "U5Y"),
    ("Volkswagen Golf 1.5 eTSI Life", 28_000, 35_000, "WVW"),
    ("Volkswagen T-Roc 1.0 TSI", 26_000, 32_000, "WVG"),
    ("Skoda Octavia Combi 2.0 TDI", 29_000, 35_000, "TMB"),
    ("Nissan Qashqai DIG-T 140 N-Connecta", 30_000, 37_000, "SJN"),
    ("Ford Kuga 2.5 FHEV Titanium", 36_000, 44_000, "WF0"),
    ("MG ZS EV Comfort", 30_000, 35_000, "LSJ"),
    ("Fiat 500 Hybrid Dolcevita", 15_000, 18_000, "ZFA"),
    ("BMW Serie 1 118i", 34_000, 45_000, "WBA"),
    ("Mercedes-Benz Clase A 180", 36_000, 46_000, "WDD"),
)

# fmt: off
FEMALE = (
    "María", "Carmen", "Ana", "Laura", "Lucía", "Marta", "Elena", "Sara", "Paula", "Cristina", "Isabel", "Raquel",
    "Rocío", "Pilar", "Silvia", "Nuria", "Beatriz", "Alicia", "Irene", "Andrea", "Noelia", "Eva", "Sonia",
    "Natalia", "Julia", "Claudia", "Ainhoa", "Nerea", "Montserrat", "Inés", "Rosa", "Victoria"
)
MALE = (
    "Antonio", "José", "Manuel", "Francisco", "David", "Juan", "Javier", "Daniel", "Carlos", "Jesús", "Alejandro",
    "Miguel", "Rafael", "Pablo", "Sergio", "Fernando", "Jorge", "Alberto", "Luis", "Álvaro", "Óscar", "Adrián",
    "Diego", "Raúl", "Iván", "Rubén", "Enrique", "Ramón", "Andrés", "Íñigo", "Iker", "Gonzalo"
)
SURNAMES = (
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín",
    "Jiménez", "Hernández", "Ruiz", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Gutiérrez", "Alonso",
    "Navarro", "Torres", "Domínguez", "Ramos", "Vázquez", "Gil", "Serrano", "Blanco", "Molina", "Morales", "Suárez",
    "Ortega", "Delgado", "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
    "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto", "Méndez", "Cruz", "Calvo", "Gallego",
    "Vidal", "León", "Herrera", "Márquez", "Peña", "Flores", "Cabrera", "Campos", "Vega", "Fuentes", "Carrasco",
    "Diez", "Aguirre", "Etxeberria", "Zubizarreta", "Arrieta", "Goikoetxea"
)
ENGLISH_FIRST = (
    "James", "Oliver", "Thomas", "William", "Emily", "Sophie", "Charlotte", "Hannah", "Daniel", "Grace", "Liam",
    "Chloe"
)
ENGLISH_LAST = (
    "Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Robinson", "Thompson", "Hughes", "Clarke",
    "Murphy"
)
STREETS = (
    "Calle Mayor", "Avenida de la Constitución", "Calle San Francisco", "Plaza de España", "Calle del Carmen",
    "Avenida de Andalucía", "Calle Real", "Paseo de la Estación", "Calle de la Iglesia", "Avenida de Europa",
    "Calle Nueva", "Calle del Sol", "Calle de Cervantes", "Ronda de Poniente", "Calle de los Olivos",
    "Avenida del Ejército", "Calle Doctor Fleming", "Calle Alfonso XIII", "Travesía del Pilar", "Calle de Goya",
)
# fmt: on
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
PLATE_LETTERS = "BCDFGHJKLMNPRSTVWXYZ"
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
TERMS = (12, 18, 24, 36, 48, 60)
TERM_WEIGHTS = (1, 1, 2, 3, 3, 3)


def _dni(rng: random.Random) -> str:
    number = rng.randint(10_000_000, 79_999_999)
    return f"{number:08d}{DNI_LETTERS[number % 23]}"


def _nie(rng: random.Random) -> str:
    prefix = rng.choice("XY")  # a foreigner's NIE: X/Y count as 0/1 for the check letter
    number = rng.randint(1_000_000, 9_999_999)
    return f"{prefix}{number:07d}{DNI_LETTERS[('XY'.index(prefix) * 10_000_000 + number) % 23]}"


def _mobile(rng: random.Random) -> str:
    return f"+34 {rng.choice('67')}{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _address(rng: random.Random, branch: BranchSpec) -> str:
    floor = rng.randint(1, 8)
    door = rng.choice(["A", "B", "C", "D", "izda.", "dcha."])
    return (
        f"{rng.choice(STREETS)} {rng.randint(1, 120)}, {floor}º {door}, "
        f"{branch.postcode}{rng.randint(1, 20):03d} {branch.city}"
    )


def _person(rng: random.Random, *, english: bool) -> tuple[str, str, str]:
    """(first name, surnames, national id)."""
    if english:
        return rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST), _nie(rng)
    first = rng.choice(FEMALE if rng.random() < 0.5 else MALE)
    return first, f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)}", _dni(rng)


def _borrower(seed: int, borrower_index: int, branch: BranchSpec) -> dict[str, str]:
    rng = _rng(seed, "borrower", borrower_index)
    english = rng.random() < 0.12
    first, last, national_id = _person(rng, english=english)
    email = f"{_ascii(first)}.{_ascii(last.split()[0])}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
    return {
        "external_id": f"DEMO-C-{borrower_index:06d}",
        "name": f"{first} {last}",
        "national_id": national_id,
        "phone": _mobile(rng),
        "email": email,
        "address": _address(rng, branch),
        "language": "en" if english else "es",
    }


# --------------------------------------------------------------------------- #
# The portfolio plan: pure, reproducible
# --------------------------------------------------------------------------- #
# Payment behaviours. The first 50 loans (the showcase) hold every behaviour, so every arrears
# bucket appears from 50 loans up; every later block of 100 has the mix of a healthy portfolio.
STOPPED = {  # stopped paying: the oldest unpaid installment fell due this many days ago (inside the bucket)
    "stopped:1-30": (6, 26),
    "stopped:31-60": (35, 56),
    "stopped:61-90": (65, 86),
    "stopped:91-180": (95, 175),
    "stopped:181-270": (185, 265),
    "stopped:271-360": (275, 355),
    "stopped:361+": (370, 620),
}
SHOWCASE = (
    ("on_time", 26),  # always on time (direct debit on the due date, some a few days early)
    ("paid_off", 5),  # matured and fully paid: closed
    ("late_catch_up", 4),  # occasionally late, then caught up
    ("rolling", 2),  # one installment behind for months (cumulative misses pile up)
    ("partial", 2),  # pays only part of every installment
    ("dealer_advance", 2),  # missed two installments; the dealer advanced them
    ("insurer_claim", 1),  # stopped paying; the insurer paid a claim for some installments
    ("reversed", 1),  # a direct debit came back (reversed), sometimes paid again
    *((name, 1) for name in STOPPED),
)
STEADY = (
    ("on_time", 62),
    ("paid_off", 12),
    ("late_catch_up", 8),
    ("rolling", 2),
    ("partial", 1),
    ("dealer_advance", 4),
    ("insurer_claim", 1),
    ("reversed", 1),
    ("stopped:1-30", 3),
    ("stopped:31-60", 1),
    ("stopped:61-90", 1),
    ("stopped:91-180", 1),
    ("stopped:181-270", 1),
    ("stopped:271-360", 1),
    ("stopped:361+", 1),
)
SHOWCASE_SIZE = sum(n for _, n in SHOWCASE)
STEADY_SIZE = sum(n for _, n in STEADY)
# Behaviours that end in (or head for) NPL lean towards SUR: its NPL ratio is above the 5 % limit (restricted),
# NORTE and CENTRO stay around 3 %.
NPL_BOUND = frozenset(
    {"partial", "insurer_claim", "stopped:91-180", "stopped:181-270", "stopped:271-360", "stopped:361+"}
)
REVERSAL_REASON = "Recibo devuelto por el banco del deudor (SEPA AM04: saldo insuficiente)."


@dataclass(frozen=True)
class PlannedPayment:
    external_id: str
    amount: Decimal
    value_date: date
    payer: str = "borrower"
    reversal_reason: str = ""  # set: the payment is reversed after posting (a returned direct debit)


@dataclass(frozen=True)
class LoanPlan:
    index: int
    number: str
    profile: str
    body: dict[str, Any]  # the PUT /api/v1/loans/{number} body core banking would send
    payments: tuple[PlannedPayment, ...]


def _profile_for(seed: int, index: int) -> str:
    """The payment behaviour of loan INDEX: a shuffled deck per block of loans."""
    if index <= SHOWCASE_SIZE:
        block, position, mix = 0, index - 1, SHOWCASE
    else:
        block, position = divmod(index - 1 - SHOWCASE_SIZE, STEADY_SIZE)
        block, mix = block + 1, STEADY
    deck = [name for name, count in mix for _ in range(count)]
    _rng(seed, "deck", block).shuffle(deck)
    return deck[position]


def _branch_for(seed: int, index: int) -> BranchSpec:
    profile = _profile_for(seed, index)
    weights = [b.weight * (3.0 if profile in NPL_BOUND and b.institution == "SUR" else 1) for b in BRANCHES]
    return _rng(seed, "branch", index).choices(BRANCHES, weights=weights)[0]


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


def _total(line: ScheduleLine) -> Decimal:
    return line.principal + line.interest + line.fees


class _Payments:
    """Collects a loan's planned payments, numbering their external ids in order."""

    def __init__(self, index: int, today: date, disbursed: date):
        self.index, self.today, self.disbursed = index, today, disbursed
        self.items: list[PlannedPayment] = []

    def add(self, amount: Decimal, value_date: date, payer: str = "borrower", reversal_reason: str = "") -> None:
        value_date = max(value_date, self.disbursed)
        if value_date > self.today or amount <= 0:
            return  # not happened yet (or nothing to pay)
        external_id = f"{PAYMENT_PREFIX}{self.index:06d}-{len(self.items) + 1:03d}"
        self.items.append(PlannedPayment(external_id, amount.quantize(CENT), value_date, payer, reversal_reason))


def _on_time(rng: random.Random, due: date) -> date:
    """Direct debit on the due date, or a transfer a few days before (it waits in suspense)."""
    return due - timedelta(days=rng.choice((0, 0, 0, 0, 0, 0, 1, 2, 3, 5)))


def _active_term(rng: random.Random, today: date, min_age: int, min_term: int = 12) -> tuple[int, date]:
    """A term and a disbursement date at least MIN_AGE months ago that has not matured yet."""
    terms = [(t, w) for t, w in zip(TERMS, TERM_WEIGHTS, strict=True) if t >= max(min_term, min_age + 1)]
    term = rng.choices([t for t, _ in terms], weights=[w for _, w in terms])[0]
    age = rng.randint(min_age, min(36, term - 1))
    return term, add_months(today, -age) - timedelta(days=rng.randint(0, 27))


def _plan_behaviour(
    profile: str, rng: random.Random, *, today: date, index: int, principal: Decimal, rate: Decimal, has_guarantor: bool
):
    """(disbursement date, term, schedule, payments) for a payment behaviour."""

    def schedule_for(term: int, disbursed: date) -> list[ScheduleLine]:
        return generate_schedule(
            principal=principal, annual_rate=rate, term_months=term, disbursement_date=disbursed, amortization="annuity"
        )

    if profile in STOPPED:
        low, high = STOPPED[profile]
        first_unpaid_due = today - timedelta(days=rng.randint(low, high))
        if first_unpaid_due.day > 28:  # keep the day reachable from every month (no end-of-month clamping)
            first_unpaid_due = first_unpaid_due.replace(day=28)
        earliest = add_months(today, -38)
        months_available = (first_unpaid_due.year - earliest.year) * 12 + first_unpaid_due.month - earliest.month - 1
        term = rng.choices(TERMS, weights=TERM_WEIGHTS)[0]
        k = rng.randint(1, max(1, min(term, months_available, 30)))  # the first installment not paid
        disbursed = add_months(first_unpaid_due, -k)
        schedule = schedule_for(term, disbursed)
        pays = _Payments(index, today, disbursed)
        by_guarantor = has_guarantor and k >= 3 and rng.random() < 0.5
        for line in schedule[: k - 1]:
            if by_guarantor and line.number == k - 1:
                pays.add(_total(line), line.due_date + timedelta(days=rng.randint(8, 20)), "guarantor")
            else:
                pays.add(_total(line), _on_time(rng, line.due_date))
        days_since = (today - first_unpaid_due).days
        if rng.random() < 0.35 and days_since > 3:  # a last, partial payment
            part = (_total(schedule[k - 1]) * rng.randint(15, 60) / 100).quantize(CENT)
            pays.add(part, first_unpaid_due + timedelta(days=rng.randint(1, min(25, days_since - 2))))
        return disbursed, term, schedule, pays.items

    if profile == "paid_off":
        term = rng.choice((12, 18, 24, 36))
        after = rng.randint(1, 38 - term)
        disbursed = add_months(today, -(term + after)) - timedelta(days=rng.randint(0, 27))
        schedule = schedule_for(term, disbursed)
        pays = _Payments(index, today, disbursed)
        lump = rng.randint(2, 4) if rng.random() < 0.3 else 0  # paid the last installments off at once
        for line in schedule[: len(schedule) - lump]:
            if lump and line.number == len(schedule) - lump:
                pays.add(sum((_total(x) for x in schedule[line.number - 1 :]), Decimal(0)), line.due_date)
            else:
                pays.add(_total(line), _on_time(rng, line.due_date))
        return disbursed, term, schedule, pays.items

    min_age = {
        "on_time": 1,
        "reversed": 2,
        "late_catch_up": 8,
        "rolling": 6,
        "partial": 8,
        "dealer_advance": 6,
        "insurer_claim": 12,
    }[profile]
    term, disbursed = _active_term(rng, today, min_age, min_term=36 if profile == "insurer_claim" else 12)
    schedule = schedule_for(term, disbursed)
    due = [line for line in schedule if line.due_date <= today]
    pays = _Payments(index, today, disbursed)

    if profile == "late_catch_up":
        candidates = [line.number for line in due if line.due_date <= today - timedelta(days=60)]
        late = set(rng.sample(candidates, k=min(len(candidates), rng.randint(1, 3))))
        for line in due:
            when = (
                line.due_date + timedelta(days=rng.randint(6, 40))
                if line.number in late
                else _on_time(rng, line.due_date)
            )
            pays.add(_total(line), min(when, today))
    elif profile == "rolling":
        start = len(due) - rng.randint(2, min(8, len(due) - 1))  # position from which every payment is a month late
        for position, line in enumerate(due):
            if position < start:
                pays.add(_total(line), _on_time(rng, line.due_date))
            elif position + 1 < len(schedule):
                pays.add(_total(line), schedule[position + 1].due_date)
    elif profile == "partial":
        start = len(due) - rng.randint(3, min(10, len(due)))
        share = Decimal(rng.randint(45, 85)) / 100
        for position, line in enumerate(due):
            amount = _total(line) if position < start else (_total(line) * share).quantize(CENT)
            pays.add(amount, line.due_date if position >= start else _on_time(rng, line.due_date))
    elif profile == "dealer_advance":
        window = [
            p
            for p, line in enumerate(due[:-2])
            if today - timedelta(days=160) <= line.due_date <= today - timedelta(days=70)
        ]
        missed = rng.choice(window) if window else None
        for position, line in enumerate(due):
            if missed is not None and position == missed:
                advance = _total(line) + _total(due[position + 1])
                pays.add(advance, due[position + 1].due_date + timedelta(days=rng.randint(3, 12)), "dealer")
            elif missed is None or position != missed + 1:
                pays.add(_total(line), _on_time(rng, line.due_date))
    elif profile == "insurer_claim":
        window = [
            p
            for p, line in enumerate(due)
            if today - timedelta(days=330) <= line.due_date <= today - timedelta(days=200)
        ]
        stop = rng.choice(window) if window else len(due)
        for line in due[:stop]:
            pays.add(_total(line), _on_time(rng, line.due_date))
        if stop < len(due):
            covered = schedule[stop : stop + rng.randint(3, 6)]
            claim_on = min(due[stop].due_date + timedelta(days=rng.randint(100, 150)), today - timedelta(days=3))
            pays.add(sum((_total(x) for x in covered), Decimal(0)), claim_on, "insurer")
    elif profile == "reversed":
        returned = max((p for p, line in enumerate(due) if line.due_date <= today - timedelta(days=2)), default=None)
        for position, line in enumerate(due):
            if position == returned:
                pays.add(_total(line), line.due_date, reversal_reason=REVERSAL_REASON)
                if rng.random() < 0.5:  # paid again once the borrower was called
                    pays.add(_total(line), min(today, line.due_date + timedelta(days=rng.randint(4, 12))))
            else:
                pays.add(_total(line), _on_time(rng, line.due_date))
    else:  # on_time
        for line in due:
            pays.add(_total(line), _on_time(rng, line.due_date))
        upcoming = schedule[len(due)] if len(due) < len(schedule) else None
        if upcoming and (upcoming.due_date - today).days <= 5 and rng.random() < 0.3:
            pays.add(_total(upcoming), today)  # paid ahead: waits in suspense until the due date
    return disbursed, term, schedule, pays.items


def _vehicle(rng: random.Random) -> tuple[str, int, str, int | None, int]:
    """(make and model, price, VIN manufacturer, age in years if used, km)."""
    model, low, high, wmi = rng.choice(VEHICLES)
    price = rng.randint(low, high) // 50 * 50
    if rng.random() < 0.35:  # a used car
        price = price * rng.randint(45, 75) // 100 // 50 * 50
        return model, price, wmi, rng.randint(2, 6), rng.randint(25, 140) * 1000
    return model, price, wmi, None, 0


def plan_loan(*, seed: int, index: int, today: date) -> LoanPlan:
    """The demo loan INDEX as of TODAY: its core-banking body and its payments."""
    profile = _profile_for(seed, index)
    branch = _branch_for(seed, index)
    rng = _rng(seed, "loan", index)

    reuse = index > 10 and rng.random() < 0.06  # an existing customer's second car
    borrower_index = rng.randint(1, index - 1) if reuse else index
    borrower = _borrower(seed, borrower_index, _branch_for(seed, borrower_index))
    has_dealer = profile == "dealer_advance" or rng.random() < 0.8
    has_insurer = profile == "insurer_claim" or rng.random() < 0.45
    has_guarantor = rng.random() < 0.25
    has_collateral = rng.random() < 0.85
    rate = Decimal(rng.randint(499, 999)) / 10_000

    # The car and the principal are drawn before the dates, so that they do not depend on the behaviour.
    model, price, wmi, age, km = _vehicle(rng)
    principal_units = min(45_000, max(6_000, price * rng.randint(60, 100) // 100 // 100 * 100))
    principal = Decimal(principal_units).quantize(CENT)
    disbursed, term, _schedule, payments = _plan_behaviour(
        profile,
        _rng(seed, "behaviour", index),
        today=today,
        index=index,
        principal=principal,
        rate=rate,
        has_guarantor=has_guarantor,
    )

    body: dict[str, Any] = {
        "branch": branch.code,
        "product": DEMO_PRODUCT,
        "currency": "EUR",
        "principal": _money(principal),
        "annual_rate": f"{rate:.4f}",
        "disbursement_date": disbursed.isoformat(),
        "officer": rng.choice(OFFICERS_BY_BRANCH[branch.code]),
        "borrower": borrower,
        "term_months": term,
        "amortization": "annuity",
    }
    if has_dealer:
        dealers = [d for d in DEALERS if d.institution in (None, branch.institution)]
        dealer = rng.choice(dealers)
        body["dealer"] = {"external_id": dealer.external_id, "name": dealer.name}
    if has_insurer:
        insurer = rng.choice(INSURERS)
        body["insurer"] = {
            "external_id": insurer.external_id,
            "name": insurer.name,
            "policy_number": f"{insurer.prefix}-{disbursed.year}-{index:06d}",
        }
    if has_guarantor:
        grng = _rng(seed, "guarantor", index)
        relative = grng.random() < 0.6
        first, last, national_id = _person(grng, english=borrower["language"] == "en")
        if relative and borrower["language"] == "es":
            last = f"{borrower['name'].split()[-2]} {grng.choice(SURNAMES)}"
        body["guarantors"] = [
            {
                "external_id": f"DEMO-G-{index:06d}",
                "name": f"{first} {last}",
                "national_id": national_id,
                "phone": _mobile(grng),
            }
        ]
    if has_collateral:
        description = f"{model} (nuevo)" if age is None else f"{model} ({disbursed.year - age}, {km:_} km, usado)"
        description = description.replace("_", ".")  # Spanish thousands separator
        plate = f"{rng.randint(0, 9999):04d} {''.join(rng.choice(PLATE_LETTERS) for _ in range(3))}"
        vin = wmi + "".join(rng.choice(VIN_CHARS) for _ in range(14))
        body["collateral"] = [
            {
                "kind": "vehicle",
                "description": f"{description} · matrícula {plate} · bastidor {vin}",
                "value": _money(Decimal(price)),
                "valued_on": (disbursed - timedelta(days=rng.randint(1, 10))).isoformat(),
            }
        ]
    return LoanPlan(index=index, number=demo_loan_number(index), profile=profile, body=body, payments=tuple(payments))


def plan_portfolio(*, loans: int, seed: int, today: date) -> list[LoanPlan]:
    return [plan_loan(seed=seed, index=index, today=today) for index in range(1, loans + 1)]


def demo_logins() -> list[tuple[Role, User]]:
    """One existing demo user per role, in Role order (the first of that role in STAFF)."""
    wanted = [s.username for s in STAFF] + [API_CLIENT_NAME]
    users = {
        u.username: u for u in User.objects.filter(username__in=wanted, is_active=True).prefetch_related("branches")
    }
    picked: dict[str, User] = {}
    for username in wanted:
        user = users.get(username)
        if user is not None and user.role not in picked:
            picked[user.role] = user
    return [(role, picked[role]) for role in Role if role in picked]


# --------------------------------------------------------------------------- #
# The core step: write the plan through the services
# --------------------------------------------------------------------------- #
def _core_step(*, context: DemoContext, loans: int, say: Callable[[str], None]) -> None:
    _ensure_branches(context)
    _ensure_staff(context)
    _ensure_api_client(context)
    context.acting_user = context.users[Role.ADMIN][0]  # a superuser: scoping answers without a query
    _ensure_parties()
    say(f"organisation: {len(context.branches)} units, {sum(len(u) for u in context.users.values())} users")
    _load_loans(context, loans=loans, say=say)


def _ensure_branches(context: DemoContext) -> None:
    head, _ = branch_upsert(code=HEAD_OFFICE[0], name=HEAD_OFFICE[1], parent_code=None)
    context.branches[head.code] = head
    for code, name, _slug in INSTITUTIONS:
        context.branches[code], _ = branch_upsert(code=code, name=name, parent_code=head.code)
        for spec in BRANCHES:
            if spec.institution == code:
                context.branches[spec.code], _ = branch_upsert(code=spec.code, name=spec.name, parent_code=code)


def _ensure_staff(context: DemoContext) -> None:
    hashed = None  # hashing is slow on purpose: hash the demo password once for every new user
    for spec in STAFF:
        is_admin = spec.role == Role.ADMIN
        user, created = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@loanops.example",
                "role": spec.role,
                "language": spec.language,
                "phone": spec.phone,
                "is_active": True,
                "is_staff": is_admin,
                "is_superuser": is_admin,
            },
        )
        if created or not user.has_usable_password():
            hashed = hashed or make_password(DEMO_PASSWORD)
            user.password = hashed
            user.save(update_fields=["password"])
        user.branches.set([context.branches[code] for code in spec.branch_codes])
        context.users.setdefault(spec.role, []).append(user)


def _ensure_api_client(context: DemoContext) -> None:
    client = User.objects.filter(username=API_CLIENT_NAME, role=Role.API_CLIENT).first()
    if client is None:  # create once: running again must not revoke a token someone is using
        client, _token, _expiry = api_client_create(name=API_CLIENT_NAME, branch_codes=[])
    context.users.setdefault(Role.API_CLIENT, []).append(client)


def _ensure_parties() -> None:
    """The migration's reference data (the AUTO product, the default parameters) and every dealer
    and insurer, even those no demo loan uses (loan_upsert upserts the rest)."""
    Product.objects.get_or_create(code=DEMO_PRODUCT, defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(
        product=None, valid_from=date(1900, 1, 1), defaults={"note": "domain.md defaults"}
    )
    for spec in DEALERS:
        Dealer.objects.update_or_create(external_id=spec.external_id, defaults={"name": spec.name})
    for spec in INSURERS:
        Insurer.objects.update_or_create(external_id=spec.external_id, defaults={"name": spec.name})


def _load_loans(context: DemoContext, *, loans: int, say: Callable[[str], None]) -> None:
    acting_user = context.acting_user
    posted = reversed_count = 0
    for plan in plan_portfolio(loans=loans, seed=context.seed, today=context.today):
        serializer = LoanInputSerializer(data=plan.body)
        if not serializer.is_valid():
            raise DemoError(f"Demo loan {plan.number} is invalid.", extra=serializer.errors)
        try:
            loan_upsert(number=plan.number, data=serializer.validated_data, acting_user=acting_user)
        except ApplicationError as exc:
            raise DemoError(f"Demo loan {plan.number}: {exc.message}", extra=exc.extra) from exc
        posted += _post_payments(plan, acting_user)
        reversed_count += sum(1 for p in plan.payments if p.reversal_reason)
        context.profiles[plan.number] = plan.profile
        if plan.index % 100 == 0:
            say(f"loans: {plan.index}/{loans}")
    context.loans = list(Loan.objects.filter(number__in=context.profiles).order_by("number"))
    context.counts.update(loans=len(context.loans), payments_posted=posted, payments_reversed=reversed_count)


def _post_payments(plan: LoanPlan, acting_user: User) -> int:
    """Post the plan's payments in one batch and reverse the returned ones; returns how many were new.

    Payments already stored with the same body are left alone (posting them again would answer
    the first answer anyway); one stored with another body is a conflict, as in the API.
    """
    requests = [
        PaymentRequest(
            external_id=p.external_id, loan_number=plan.number, amount=p.amount, value_date=p.value_date, payer=p.payer
        )
        for p in plan.payments
    ]
    stored = {
        external_id: (fingerprint, reversed_at)
        for external_id, fingerprint, reversed_at in Payment.objects.filter(
            external_id__in=[r.external_id for r in requests]
        ).values_list("external_id", "request_fingerprint", "reversed_at")
    }
    new = [r for r in requests if stored.get(r.external_id, (None,))[0] != r.fingerprint]
    if new:
        for answer in payments_post(requests=new, acting_user=acting_user):
            if isinstance(answer, ApplicationError):
                raise DemoError(f"Demo payment of {plan.number}: {answer.message}", extra=answer.extra)
    for p in plan.payments:
        if p.reversal_reason and stored.get(p.external_id, (None, None))[1] is None:
            payment_reverse(external_id=p.external_id, reason=p.reversal_reason, acting_user=acting_user)
    return len(new)
