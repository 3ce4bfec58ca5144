from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from loanops.org.api.serializers import BranchInputSerializer, BranchOutputSerializer, validate_code
from loanops.org.models import Branch
from loanops.org.scoping import can_see_branch, for_user, visible_paths
from loanops.org.services.branches import branch_upsert


class BranchApi(BaseApiView):
    @extend_schema(responses=BranchOutputSerializer)
    def get(self, request, code):
        branch = for_user(Branch.objects.select_related("parent"), request.user).filter(code=code).first()
        if branch is None:
            raise NotFound("Branch not found.")
        return Response(BranchOutputSerializer(branch).data)

    @extend_schema(request=BranchInputSerializer, responses={200: BranchOutputSerializer, 201: BranchOutputSerializer})
    def put(self, request, code):
        errors = validate_code(code)
        serializer = BranchInputSerializer(data=request.data)
        if not serializer.is_valid() or errors:
            raise ValidationFailed("Invalid input.", extra={**errors, **serializer.errors})
        # Only a client that sees every branch may reshape the tree; a branch-limited
        # client may only touch branches inside its own scope.
        if visible_paths(request.user) is not None:
            existing = Branch.objects.filter(code=code).first()
            parent_code = serializer.validated_data.get("parent") or None
            parent = Branch.objects.filter(code=parent_code).first() if parent_code else None
            if (existing and not can_see_branch(request.user, existing)) or (
                parent is None or not can_see_branch(request.user, parent)
            ):
                raise PermissionDenied("This client may not change branches outside its own.")
        branch, created = branch_upsert(
            code=code,
            name=serializer.validated_data["name"],
            parent_code=serializer.validated_data.get("parent") or None,
            acting_user=request.user,
        )
        return Response(BranchOutputSerializer(branch).data, status=status.HTTP_201_CREATED if created else 200)
