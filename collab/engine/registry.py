"""A tiny registry shared by protocols, topologies and scenarios."""

from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownName(KeyError):
    def __str__(self) -> str:
        return self.args[0]


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self.items: dict[str, T] = {}

    def register(self, item: T) -> T:
        self.items[item.key] = item  # type: ignore[attr-defined]
        return item

    def get(self, key: str) -> T:
        try:
            return self.items[key]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} {key!r}; choose one of: {', '.join(sorted(self.items))}") from None

    def names(self) -> list[str]:
        return sorted(self.items)

    def all(self) -> list[T]:
        return [self.items[k] for k in sorted(self.items)]
