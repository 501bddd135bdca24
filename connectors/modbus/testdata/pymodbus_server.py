"""A Modbus TCP server built on pymodbus (3.0), for the connector's tests.

Usage: pymodbus_server.py PORT SPEC.json

SPEC maps each table ("hr", "ir", "co", "di") to {"address": value}; only
those addresses exist: a read that covers any other gets exception 02, as
on devices with sparse register maps. Addresses are protocol addresses
(zero_mode: register 40001 is holding address 0).
"""
import json
import sys

from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.server import StartTcpServer


def block(values):
    return ModbusSparseDataBlock({int(k): v for k, v in values.items()})


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        spec = json.load(f)
    tables = {t: block(spec.get(t) or {"65535": 0}) for t in ("hr", "ir", "co", "di")}
    slave = ModbusSlaveContext(zero_mode=True, **tables)
    StartTcpServer(
        context=ModbusServerContext(slaves=slave, single=True),
        address=("127.0.0.1", port),
    )


if __name__ == "__main__":
    main()
