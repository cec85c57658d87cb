"""Base class for every recipe section: strict, documented fields."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A recipe section: unknown keys are errors; field docstrings are the documentation.

    Floats are finite: ``.inf`` epochs or a ``nan`` tolerance would pass every later check.
    """

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, validate_assignment=True, allow_inf_nan=False
    )
