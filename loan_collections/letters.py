"""Collection letters: which letters a stage sends, to whom, their deadlines and numbering, and
the default wording (domain.md "Collections", domain-research.md §6.3). Pure Python, no ORM.

The wording below is what the data migration installs into `LetterTemplate` (an administrator
edits it in the admin site); it is also the fallback when a wording row is missing. Texts may use
the placeholders {borrower}, {contract}, {total_due}, {deadline}, {days_past_due}, {branch},
{dealer}, {insurer} and {policy}; the layout adds every figure, date and party itself.
"""

import re
from datetime import date, timedelta

from loan_collections.models import LetterRecipient, LetterType, Stage

# domain-research §3.3: LETTER_PAYMENT_DEADLINE_DAYS, DEALER_ADVANCE_DEADLINE_DAYS
PAYMENT_DEADLINE_DAYS = 10
DEALER_ADVANCE_DEADLINE_DAYS = 5
# domain-research §6.3: a documented demand interrupts the limitation period (3 years, PRC Civil Code art. 188 [V]).
LIMITATION_YEARS = 3
MAX_RENDER_ATTEMPTS = 5
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"

# Entering a stage sends these letters (recipient; the dealer's and insurer's only when the loan has one).
LADDER_LETTERS: dict[str, tuple[str, ...]] = {
    Stage.FIRST_LETTER: (LetterType.FIRST_NOTICE,),
    Stage.SECOND_LETTER: (LetterType.SECOND_NOTICE,),
    Stage.DEALER_ADVANCE_REQUEST: (LetterType.DEALER_ADVANCE_NOTICE,),
    Stage.FINAL_DEMAND: (LetterType.FINAL_DEMAND,),
    Stage.ENFORCEMENT: (LetterType.ACCELERATION_NOTICE, LetterType.GUARANTEE_CALL, LetterType.INSURER_CLAIM_NOTICE),
}

RECIPIENT: dict[str, str] = {
    LetterType.REMINDER: LetterRecipient.BORROWER,
    LetterType.FIRST_NOTICE: LetterRecipient.BORROWER,
    LetterType.SECOND_NOTICE: LetterRecipient.BORROWER,
    LetterType.FINAL_DEMAND: LetterRecipient.BORROWER,
    LetterType.ACCELERATION_NOTICE: LetterRecipient.BORROWER,
    LetterType.DEALER_ADVANCE_NOTICE: LetterRecipient.DEALER,
    LetterType.GUARANTEE_CALL: LetterRecipient.DEALER,
    LetterType.INSURER_CLAIM_NOTICE: LetterRecipient.INSURER,
}

# §6.3: legal basis on FINAL and GUARANTEE_CALL (and the acceleration that follows the final demand).
WITH_LEGAL_BASIS = frozenset({LetterType.FINAL_DEMAND, LetterType.GUARANTEE_CALL, LetterType.ACCELERATION_NOTICE})


def ladder_rows() -> list[tuple[str, str, str]]:
    """(stage, letter type, recipient) for every letter a stage entry sends."""
    return [(str(stage), str(kind), str(RECIPIENT[kind])) for stage, kinds in LADDER_LETTERS.items() for kind in kinds]


def deadline_for(*, letter_type: str, issued_on: date) -> date:
    days = DEALER_ADVANCE_DEADLINE_DAYS if letter_type == LetterType.DEALER_ADVANCE_NOTICE else PAYMENT_DEADLINE_DAYS
    return issued_on + timedelta(days=days)


def limitation_expiry(delivered_on: date) -> date:
    """LIMITATION_YEARS after a documented demand (29 February → 28 February)."""
    try:
        return delivered_on.replace(year=delivered_on.year + LIMITATION_YEARS)
    except ValueError:
        return delivered_on.replace(year=delivered_on.year + LIMITATION_YEARS, day=28)


def letter_number(*, branch_code: str, year: int, sequence: int) -> str:
    return f"{branch_code}-{year}-{sequence:06d}"


def mask_id(national_id: str) -> str:
    """Only the last 4 characters of an identity document are printed."""
    value = (national_id or "").strip()
    if not value:
        return ""
    visible = value[-4:] if len(value) > 4 else value[-1:]
    return "*" * max(len(value) - len(visible), 3) + visible


def letter_language(language: str | None) -> str:
    code = (language or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the known {placeholders}; unknown ones stay as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")


# --- default wording ----------------------------------------------------------------------------

_RIGHTS = {
    "en": (
        "You may check your balance and the detail of every instalment and payment at any of our branches or by "
        "asking your account officer. If you disagree with the amounts in this letter, you may dispute them in "
        "writing, with supporting evidence, to the Customer Service Department (reclamaciones@loanops.example, "
        "or any branch) within 15 days; we will answer in writing. If our answer does not satisfy you, you may "
        "refer the matter to the banking supervisor's complaints service."
    ),
    "es": (
        "Puede consultar su saldo y el detalle de cada cuota y pago en cualquiera de nuestras oficinas o a través "
        "de su gestor. Si no está de acuerdo con los importes de esta carta, puede presentar una reclamación por "
        "escrito, con la documentación que la justifique, ante el Servicio de Atención al Cliente "
        "(reclamaciones@loanops.example, o en cualquier oficina) en el plazo de 15 días; le responderemos por "
        "escrito. Si la respuesta no le satisface, puede acudir al servicio de reclamaciones del supervisor bancario."
    ),
}
_CHANNELS = {
    "en": (
        "Transfer to account ES00 0000 0000 0000 0000 0000 (beneficiary LoanOps), stating contract {contract} as "
        "the reference; cash or card payment at any branch; or direct debit on request."
    ),
    "es": (
        "Transferencia a la cuenta ES00 0000 0000 0000 0000 0000 (beneficiario LoanOps), indicando el contrato "
        "{contract} como concepto; pago en efectivo o con tarjeta en cualquier oficina; o domiciliación a "
        "petición suya."
    ),
}
_CLOSING = {
    "en": "Office hours: Monday to Friday, 09:00 to 14:00. Yours faithfully,",
    "es": "Horario de atención: de lunes a viernes, de 09:00 a 14:00. Atentamente,",
}
_LEGAL = {
    "en": (
        "Clauses 6 (payment obligations), 9 (default interest and charges) and 11 (early termination and "
        "acceleration) of the loan contract, and the guarantee and chattel-mortgage clauses it contains."
    ),
    "es": (
        "Cláusulas 6 (obligaciones de pago), 9 (intereses de demora y gastos) y 11 (vencimiento anticipado) del "
        "contrato de préstamo, y las cláusulas de garantía y reserva de dominio / hipoteca mobiliaria que contiene."
    ),
}
_LEGAL_DEALER = {
    "en": (
        "The dealer guarantee / buy-back agreement signed with the bank (joint and several liability and "
        "repurchase clauses) and clause 11 (early termination) of the loan contract."
    ),
    "es": (
        "El convenio de garantía / recompra firmado por el concesionario con la entidad (cláusulas de "
        "responsabilidad solidaria y de recompra) y la cláusula 11 (vencimiento anticipado) del contrato de préstamo."
    ),
}

DEFAULT_WORDING: dict[str, dict[str, dict[str, str]]] = {
    LetterType.REMINDER: {
        "en": {
            "title": "Payment reminder",
            "opening": (
                "Dear {borrower}, our records show that your loan {contract} has an unpaid amount of {total_due}, "
                "{days_past_due} days past due. It may be an oversight: please pay it by {deadline}. If you have "
                "already paid, please disregard this letter."
            ),
            "consequences": "",
        },
        "es": {
            "title": "Recordatorio de pago",
            "opening": (
                "Estimado/a {borrower}: según nuestros registros, su préstamo {contract} presenta un importe "
                "impagado de {total_due}, con {days_past_due} días de atraso. Puede tratarse de un olvido: le "
                "rogamos que lo abone antes del {deadline}. Si ya lo ha pagado, no tenga en cuenta esta carta."
            ),
            "consequences": "",
        },
    },
    LetterType.FIRST_NOTICE: {
        "en": {
            "title": "Notice of overdue payment",
            "opening": (
                "Dear {borrower}, despite our previous contacts, the instalments of your loan {contract} detailed "
                "below remain unpaid ({days_past_due} days past due). We ask you to pay the total due of {total_due} "
                "by {deadline} at the latest, or to contact your account officer to agree a solution."
            ),
            "consequences": (
                "If the debt remains unpaid, default interest and charges will continue to accrue, and the debt "
                "may be reported to credit bureaus and to the Bank of Spain's Central Credit Register (CIRBE)."
            ),
        },
        "es": {
            "title": "Requerimiento de pago",
            "opening": (
                "Estimado/a {borrower}: a pesar de nuestras comunicaciones anteriores, las cuotas de su préstamo "
                "{contract} que se detallan a continuación siguen impagadas ({days_past_due} días de atraso). Le "
                "requerimos que abone el total adeudado de {total_due} a más tardar el {deadline}, o que se ponga "
                "en contacto con su gestor para acordar una solución."
            ),
            "consequences": (
                "Si la deuda sigue impagada, seguirán devengándose intereses de demora y gastos, y la deuda podrá "
                "comunicarse a los ficheros de solvencia patrimonial y a la Central de Información de Riesgos del "
                "Banco de España (CIRBE)."
            ),
        },
    },
    LetterType.SECOND_NOTICE: {
        "en": {
            "title": "Second notice of overdue payment",
            "opening": (
                "Dear {borrower}, we wrote to you about the arrears on your loan {contract}, which have not been "
                "settled and are now {days_past_due} days past due. You must pay the total due of {total_due} by "
                "{deadline}."
            ),
            "consequences": (
                "If you do not pay by that date, the debt will be reported to credit bureaus and to CIRBE, and the "
                "bank may declare the whole loan due, enforce the vehicle's security and the guarantees, and take "
                "legal action, with the costs charged to you."
            ),
        },
        "es": {
            "title": "Segundo requerimiento de pago",
            "opening": (
                "Estimado/a {borrower}: le escribimos en relación con los atrasos de su préstamo {contract}, que no "
                "han sido regularizados y acumulan ya {days_past_due} días. Debe abonar el total adeudado de "
                "{total_due} a más tardar el {deadline}."
            ),
            "consequences": (
                "Si no paga en esa fecha, la deuda se comunicará a los ficheros de solvencia y a la CIRBE, y la "
                "entidad podrá declarar el vencimiento anticipado de todo el préstamo, ejecutar la garantía sobre el "
                "vehículo y las fianzas, y ejercer acciones judiciales, con las costas a su cargo."
            ),
        },
    },
    LetterType.FINAL_DEMAND: {
        "en": {
            "title": "Final demand before legal action",
            "opening": (
                "Dear {borrower}, this is our final demand. The arrears on your loan {contract} ({days_past_due} "
                "days past due) remain unpaid despite our previous notices. You must pay {total_due} by {deadline}."
            ),
            "consequences": (
                "If payment is not received by that date, the bank will declare the early termination of the loan "
                "and demand the whole outstanding principal, interest and charges at once (acceleration); will "
                "report the debt to credit bureaus and to CIRBE; will enforce its security over the vehicle and "
                "call on the guarantors, the dealer's guarantee and the credit insurance; and will bring legal "
                "proceedings, whose costs will be charged to you."
            ),
        },
        "es": {
            "title": "Último requerimiento antes de acciones judiciales",
            "opening": (
                "Estimado/a {borrower}: este es nuestro último requerimiento. Los atrasos de su préstamo {contract} "
                "({days_past_due} días) siguen impagados pese a nuestros avisos anteriores. Debe abonar {total_due} "
                "a más tardar el {deadline}."
            ),
            "consequences": (
                "Si no recibimos el pago en esa fecha, la entidad declarará el vencimiento anticipado del préstamo y "
                "reclamará de una sola vez todo el capital pendiente, los intereses y los gastos; comunicará la "
                "deuda a los ficheros de solvencia y a la CIRBE; ejecutará la garantía sobre el vehículo y "
                "reclamará a los avalistas, al concesionario y al seguro de crédito; e iniciará acciones "
                "judiciales, cuyas costas serán a su cargo."
            ),
        },
    },
    LetterType.ACCELERATION_NOTICE: {
        "en": {
            "title": "Notice of early termination (acceleration) of the loan",
            "opening": (
                "Dear {borrower}, since the arrears on your loan {contract} were not settled despite our final "
                "demand, the bank declares the loan due in full under the contract. The whole amount stated below "
                "is payable now; you must pay it by {deadline}."
            ),
            "consequences": (
                "Failing payment, the bank will enforce its security over the vehicle, call on the guarantees and "
                "the credit insurance, and bring legal proceedings, whose costs will be charged to you. The debt is "
                "being reported to credit bureaus and to CIRBE."
            ),
        },
        "es": {
            "title": "Notificación de vencimiento anticipado del préstamo",
            "opening": (
                "Estimado/a {borrower}: al no haberse regularizado los atrasos de su préstamo {contract} pese a "
                "nuestro último requerimiento, la entidad declara el vencimiento anticipado del préstamo conforme al "
                "contrato. El importe total indicado abajo es exigible desde ahora; debe abonarlo a más tardar el "
                "{deadline}."
            ),
            "consequences": (
                "En caso de impago, la entidad ejecutará la garantía sobre el vehículo, reclamará a los avalistas y "
                "al seguro de crédito, e iniciará acciones judiciales, cuyas costas serán a su cargo. La deuda se "
                "está comunicando a los ficheros de solvencia y a la CIRBE."
            ),
        },
    },
    LetterType.DEALER_ADVANCE_NOTICE: {
        "en": {
            "title": "Request to advance overdue instalments",
            "opening": (
                "Dear {dealer}, the loan {contract} granted to your customer {borrower} under our dealer agreement "
                "is {days_past_due} days past due. Under the agreement, we ask you to advance the overdue amount "
                "of {total_due} by {deadline}."
            ),
            "consequences": (
                "If the amount is not advanced by that date, the bank may debit your margin account as the "
                "agreement allows, and the loan will continue towards enforcement of your guarantee."
            ),
        },
        "es": {
            "title": "Solicitud de anticipo de cuotas vencidas",
            "opening": (
                "Estimado {dealer}: el préstamo {contract} concedido a su cliente {borrower} al amparo de nuestro "
                "convenio acumula {days_past_due} días de atraso. Conforme al convenio, le solicitamos que anticipe "
                "el importe vencido de {total_due} a más tardar el {deadline}."
            ),
            "consequences": (
                "Si el importe no se anticipa en esa fecha, la entidad podrá cargarlo en su cuenta de depósito de "
                "garantía, tal como permite el convenio, y el préstamo seguirá hacia la ejecución de su garantía."
            ),
        },
    },
    LetterType.GUARANTEE_CALL: {
        "en": {
            "title": "Call on the dealer guarantee",
            "opening": (
                "Dear {dealer}, the loan {contract} granted to {borrower} meets the default trigger of our dealer "
                "agreement. We call on your guarantee and ask you to pay the buy-back price of {total_due} "
                "(unpaid principal plus interest) by {deadline}."
            ),
            "consequences": (
                "Failing payment by that date, the bank will claim under the credit insurance and bring legal "
                "proceedings against the borrower and against you as guarantor, and may suspend new business "
                "under the agreement."
            ),
        },
        "es": {
            "title": "Ejecución de la garantía del concesionario",
            "opening": (
                "Estimado {dealer}: el préstamo {contract} concedido a {borrower} ha incurrido en el supuesto de "
                "incumplimiento previsto en nuestro convenio. Ejecutamos su garantía y le requerimos el pago del "
                "precio de recompra de {total_due} (capital pendiente más intereses) a más tardar el {deadline}."
            ),
            "consequences": (
                "Si no paga en esa fecha, la entidad reclamará al seguro de crédito e iniciará acciones judiciales "
                "contra el prestatario y contra usted como garante, y podrá suspender las nuevas operaciones del "
                "convenio."
            ),
        },
    },
    LetterType.INSURER_CLAIM_NOTICE: {
        "en": {
            "title": "Notice of claim under the credit insurance policy",
            "opening": (
                "Dear {insurer}, we notify a claim under policy {policy} for the loan {contract} granted to "
                "{borrower}, which is in default ({days_past_due} days past due). The amount claimed is "
                "{total_due}. Please confirm receipt and tell us which documents you need by {deadline}."
            ),
            "consequences": "",
        },
        "es": {
            "title": "Comunicación de siniestro en la póliza de seguro de crédito",
            "opening": (
                "Estimados señores de {insurer}: comunicamos un siniestro en la póliza {policy} correspondiente al "
                "préstamo {contract} concedido a {borrower}, que se encuentra en situación de impago "
                "({days_past_due} días de atraso). El importe reclamado es de {total_due}. Les rogamos que acusen "
                "recibo y nos indiquen la documentación necesaria a más tardar el {deadline}."
            ),
            "consequences": "",
        },
    },
}


def default_wording(letter_type: str, language: str) -> dict[str, str]:
    """Every field of a `LetterTemplate` for TYPE in LANGUAGE (es or en)."""
    language = letter_language(language)
    texts = DEFAULT_WORDING[letter_type][language]
    legal = ""
    if letter_type in WITH_LEGAL_BASIS:
        legal = (_LEGAL_DEALER if letter_type == LetterType.GUARANTEE_CALL else _LEGAL)[language]
    return {
        "title": texts["title"],
        "opening": texts["opening"],
        "consequences": texts["consequences"],
        "rights": _RIGHTS[language],
        "legal_basis": legal,
        "payment_channels": _CHANNELS[language],
        "closing": _CLOSING[language],
    }


WORDING_FIELDS = ("title", "opening", "consequences", "rights", "legal_basis", "payment_channels", "closing")


def install_default_wording(template_model) -> int:
    """Create the missing wording rows (never overwrites an administrator's edits)."""
    created = 0
    for letter_type in DEFAULT_WORDING:
        for language in LANGUAGES:
            _, was_created = template_model.objects.get_or_create(
                letter_type=str(letter_type), language=language, defaults=default_wording(letter_type, language)
            )
            created += was_created
    return created
