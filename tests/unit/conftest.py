from tests.unit.fake_workflow import fake_composites

__all__ = ["fake_composites"]
