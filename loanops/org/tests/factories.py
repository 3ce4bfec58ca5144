import factory

from loanops.org.models import Branch, Role, User


class BranchFactory(factory.django.DjangoModelFactory):
    """Builds a branch through the real service, so path and depth are right."""

    class Meta:
        model = Branch

    code = factory.Sequence(lambda n: f"BR{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Branch {o.code}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, code, name, parent=None, **kwargs):
        from loanops.org.services.branches import branch_upsert

        branch, _ = branch_upsert(code=code, name=name, parent_code=parent.code if parent else None)
        return branch


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@bank.test")
    role = Role.CREDIT_OFFICER
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def branches(self, create, extracted, **kwargs):
        if create and extracted:
            self.branches.set(extracted)
