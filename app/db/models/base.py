from advanced_alchemy.base import DefaultBase, UUIDAuditBase, orm_registry

# tables with a uuid id and created/updated timestamps
Base = UUIDAuditBase
# tables that declare their own primary key
KeyedBase = DefaultBase
metadata = orm_registry.metadata

__all__ = ["Base", "KeyedBase", "metadata"]
