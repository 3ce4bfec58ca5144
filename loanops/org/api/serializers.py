from rest_framework import serializers

from loanops.org.models import code_validator


class BranchInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    parent = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True)


class BranchOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    parent = serializers.CharField(source="parent.code", allow_null=True, default=None)
    kind = serializers.CharField()
    path = serializers.CharField()


def validate_code(code: str) -> dict:
    try:
        code_validator(code)
    except Exception as exc:  # noqa: BLE001 - Django ValidationError
        return {"code": [str(m) for m in getattr(exc, "messages", [str(exc)])]}
    return {}
