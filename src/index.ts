/** Shoal's public API. */
export { ActorSystem, type ActorSystemOptions, type AskOptions, type KindDefinition } from './runtime/actor-system.ts';
export { ActorRef } from './runtime/actor-ref.ts';
export { receive, type ActorBehavior, type BehaviorFactory, type BehaviorSource } from './runtime/behavior.ts';
export { TERMINATED, type ActorContext, type Replier, type Terminated } from './runtime/context.ts';
export * from './runtime/errors.ts';
export * as actions from './runtime/machine-actions.ts';
export { MESSAGE_EVENT } from './runtime/machine-behavior.ts';
export { supervisor, type SupervisorSpec, type SupervisorRequest, type ChildInfo } from './runtime/supervisor.ts';
export type { ChildSpec, RestartType, SpawnOptions, Strategy, SupervisionOptions } from './runtime/supervision.ts';
export { realClock, type Clock } from './runtime/clock.ts';
export { SimulatedClock } from './runtime/simulated-clock.ts';
export { HeartbeatDetector, type FailureDetector, type HeartbeatOptions } from './runtime/failure-detector.ts';
export type { Transport } from './transport/transport.ts';
export { MemoryNetwork } from './transport/memory-transport.ts';
export { FaultPlan, FaultyTransport } from './transport/faults.ts';
export { connectNatsTransport, type NatsConnectOptions } from './transport/nats-transport.ts';
