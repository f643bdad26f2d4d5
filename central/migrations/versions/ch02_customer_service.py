"""customer service: applications, fault reports, work orders with events and files, outages
by station and route

Revision ID: ch02
Revises: ch01
"""

import sqlalchemy as sa
from alembic import op

revision = "ch02"
down_revision = "ch01"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("expected_restore_at", TS, nullable=False),
        sa.Column("restored_at", TS, nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
    )
    op.create_table(
        "outage_areas",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("outage_id", ID, nullable=False),
        sa.Column("station_id", ID, nullable=True),
        sa.Column("route_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outages.id"],
            name=op.f("fk_outage_areas_outage_id_outages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_outage_areas_route_id_routes")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_outage_areas_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_areas")),
    )
    op.create_index(op.f("ix_outage_areas_outage_id"), "outage_areas", ["outage_id"], unique=False)
    op.create_table(
        "applications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("applicant", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_applications_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_applications_number")),
    )
    op.create_index(
        op.f("ix_applications_customer_id"), "applications", ["customer_id"], unique=False
    )
    op.create_table(
        "fault_reports",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("reporter", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_fault_reports_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_reports")),
        sa.UniqueConstraint("number", name=op.f("uq_fault_reports_number")),
    )
    op.create_index(
        op.f("ix_fault_reports_customer_id"), "fault_reports", ["customer_id"], unique=False
    )
    op.create_table(
        "work_orders",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("application_id", ID, nullable=True),
        sa.Column("fault_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=2000), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_work_orders_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_work_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["fault_id"], ["fault_reports.id"], name=op.f("fk_work_orders_fault_id_fault_reports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_work_orders_number")),
    )
    op.create_index("ix_work_orders_customer", "work_orders", ["customer_id"], unique=False)
    op.create_table(
        "work_order_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("work_order_id", ID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_events_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_events")),
    )
    op.create_index(
        op.f("ix_work_order_events_work_order_id"),
        "work_order_events",
        ["work_order_id"],
        unique=False,
    )
    op.create_table(
        "work_order_files",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("work_order_id", ID, nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_files_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_files")),
    )
    op.create_index(
        op.f("ix_work_order_files_work_order_id"),
        "work_order_files",
        ["work_order_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_work_order_files_work_order_id"), table_name="work_order_files")
    op.drop_table("work_order_files")
    op.drop_index(op.f("ix_work_order_events_work_order_id"), table_name="work_order_events")
    op.drop_table("work_order_events")
    op.drop_index("ix_work_orders_customer", table_name="work_orders")
    op.drop_table("work_orders")
    op.drop_index(op.f("ix_fault_reports_customer_id"), table_name="fault_reports")
    op.drop_table("fault_reports")
    op.drop_index(op.f("ix_applications_customer_id"), table_name="applications")
    op.drop_table("applications")
    op.drop_index(op.f("ix_outage_areas_outage_id"), table_name="outage_areas")
    op.drop_table("outage_areas")
    op.drop_table("outages")
