"""Test support shared by the conftest and class-scoped fixtures."""


def restore_reference_data() -> None:
    """Put back the rows migrations install (products, default parameters, the default credit-file
    checklist, the letters' wording): transactional tests flush every table, migration rows included."""
    from archives.checklist import install_default_checklist
    from archives.models import ChecklistItem
    from loan_collections.letters import DEFAULT_WORDING, LANGUAGES, install_default_wording
    from loan_collections.models import LetterTemplate
    from loans.reference import ensure_reference_data

    ensure_reference_data()
    install_default_checklist(ChecklistItem)
    if LetterTemplate.objects.count() < len(DEFAULT_WORDING) * len(LANGUAGES):
        install_default_wording(LetterTemplate)
