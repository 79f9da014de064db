export { listSerialPorts, type SerialPortInfo } from './serial/list-ports.ts'
