import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import {
  isPaused,
  isWorkload,
  pausedReason,
  resolveWorkloadRefs,
  restartStamp,
  WORKLOAD_GENERATION,
  type DaemonSet,
  type Deployment,
  type Rollout,
  type StatefulSet,
  type Workload
} from '../../src/workloads/model.js'
import { rolloutStatus, type RolloutStatus } from '../../src/workloads/status.js'

/** The rules of `kubectl rollout status` (k8s.io/kubectl pkg/polymorphichelpers/rollout_status.go), branch by branch. */

const DONE: RolloutStatus = { state: 'done' }
const waiting = (reason: string): RolloutStatus => ({ state: 'waiting', reason })
const ON_DELETE: RolloutStatus = { state: 'not-awaited', reason: 'restarted, not awaited (OnDelete)' }

const progressing = (reason: string, message?: string) => ({
  type: 'Progressing',
  status: reason === 'ProgressDeadlineExceeded' ? 'False' : 'True',
  reason,
  ...(message && { message })
})
const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }

function deployment(
  spec: Omit<Deployment['spec'], 'template'>,
  status: Deployment['status'],
  generation = 2
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'payments', generation },
    spec: { ...spec, template: {} },
    status
  }
}

describe('rolloutStatus of a Deployment', () => {
  const rolledOut = {
    observedGeneration: 2,
    replicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    conditions: [available, progressing('NewReplicaSetAvailable')]
  }

  it.each<[string, Deployment, RolloutStatus]>([
    [
      'generation not observed yet',
      deployment({ replicas: 3 }, { ...rolledOut, observedGeneration: 1 }),
      waiting('Waiting for deployment spec update to be observed...')
    ],
    [
      'no status yet',
      deployment({ replicas: 3 }, undefined),
      waiting('Waiting for deployment spec update to be observed...')
    ],
    [
      'generation not observed, past its deadline: not judged yet',
      deployment(
        { replicas: 3 },
        { ...rolledOut, observedGeneration: 1, conditions: [progressing('ProgressDeadlineExceeded')] }
      ),
      waiting('Waiting for deployment spec update to be observed...')
    ],
    ['generation observed', deployment({ replicas: 3 }, rolledOut), DONE],
    ['a later generation observed', deployment({ replicas: 3 }, { ...rolledOut, observedGeneration: 3 }), DONE],
    [
      'no generation on either side',
      deployment({ replicas: 3 }, { ...rolledOut, observedGeneration: undefined }, 0),
      DONE
    ],
    [
      'past its progress deadline',
      deployment(
        { replicas: 3 },
        {
          ...rolledOut,
          conditions: [progressing('ProgressDeadlineExceeded', 'ReplicaSet "api-7d9f" has timed out progressing.')]
        }
      ),
      {
        state: 'failed',
        reason: 'deployment "api" exceeded its progress deadline: ReplicaSet "api-7d9f" has timed out progressing.'
      }
    ],
    [
      'past its deadline, no message',
      deployment({ replicas: 3 }, { ...rolledOut, conditions: [progressing('ProgressDeadlineExceeded')] }),
      { state: 'failed', reason: 'deployment "api" exceeded its progress deadline' }
    ],
    [
      'past its deadline while replicas are still missing: the deadline comes first',
      deployment(
        { replicas: 3 },
        { ...rolledOut, updatedReplicas: 1, conditions: [progressing('ProgressDeadlineExceeded', 'timed out')] }
      ),
      { state: 'failed', reason: 'deployment "api" exceeded its progress deadline: timed out' }
    ],
    [
      'a Progressing condition still progressing',
      deployment({ replicas: 3 }, { ...rolledOut, conditions: [progressing('ReplicaSetUpdated')] }),
      DONE
    ],
    [
      'the deadline reason on another condition',
      deployment(
        { replicas: 3 },
        { ...rolledOut, conditions: [{ type: 'Available', status: 'False', reason: 'ProgressDeadlineExceeded' }] }
      ),
      DONE
    ],
    [
      '1 of 3 replicas updated',
      deployment({ replicas: 3 }, { ...rolledOut, updatedReplicas: 1 }),
      waiting('Waiting for deployment "api" rollout to finish: 1 out of 3 new replicas have been updated...')
    ],
    [
      '2 of 3 replicas updated',
      deployment({ replicas: 3 }, { ...rolledOut, updatedReplicas: 2 }),
      waiting('Waiting for deployment "api" rollout to finish: 2 out of 3 new replicas have been updated...')
    ],
    [
      'replicas left out: 1, the API server default',
      deployment({}, { observedGeneration: 2 }),
      waiting('Waiting for deployment "api" rollout to finish: 0 out of 1 new replicas have been updated...')
    ],
    [
      'replicas left out, 1 rolled out',
      deployment({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
      DONE
    ],
    [
      'an empty spec',
      deployment({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
      DONE
    ],
    ['scaled to zero', deployment({ replicas: 0 }, { observedGeneration: 2 }), DONE],
    [
      'old replicas pending termination',
      deployment({ replicas: 3 }, { ...rolledOut, replicas: 4 }),
      waiting('Waiting for deployment "api" rollout to finish: 1 old replicas are pending termination...')
    ],
    [
      'more old replicas pending termination',
      deployment({ replicas: 3 }, { ...rolledOut, replicas: 6 }),
      waiting('Waiting for deployment "api" rollout to finish: 3 old replicas are pending termination...')
    ],
    [
      'updated replicas not all available',
      deployment({ replicas: 3 }, { ...rolledOut, availableReplicas: 2 }),
      waiting('Waiting for deployment "api" rollout to finish: 2 of 3 updated replicas are available...')
    ],
    [
      'no updated replica available',
      deployment({ replicas: 3 }, { ...rolledOut, availableReplicas: undefined }),
      waiting('Waiting for deployment "api" rollout to finish: 0 of 3 updated replicas are available...')
    ],
    [
      'more updated replicas than desired (scaling down), all available',
      deployment({ replicas: 2 }, { ...rolledOut }),
      DONE
    ],
    ['more available than updated', deployment({ replicas: 3 }, { ...rolledOut, availableReplicas: 4 }), DONE],
    [
      'paused, not observed: kubectl has no rule for paused',
      deployment({ replicas: 3, paused: true }, { ...rolledOut, observedGeneration: 1 }),
      waiting('Waiting for deployment spec update to be observed...')
    ]
  ])('%s', (_case, workload, expected) => {
    expect(rolloutStatus(workload)).toEqual(expected)
  })

  const size = fc.nat({ max: 50 })

  it('is done once the status matches the spec, its generation observed and no deadline passed', () => {
    fc.assert(
      fc.property(
        size,
        fc.nat({ max: 100 }),
        fc.nat({ max: 3 }),
        fc.constantFrom('NewReplicaSetAvailable', 'ReplicaSetUpdated', 'FoundNewReplicaSet'),
        (replicas, generation, ahead, reason) => {
          const status = {
            observedGeneration: generation + ahead,
            replicas,
            updatedReplicas: replicas,
            availableReplicas: replicas,
            conditions: [progressing(reason)]
          }
          expect(rolloutStatus(deployment({ replicas }, status, generation))).toEqual(DONE)
        }
      )
    )
  })

  it('waits for the spec update to be observed whenever the generation is above the observed one, whatever the rest', () => {
    const condition = fc.constantFrom(
      progressing('NewReplicaSetAvailable'),
      progressing('ProgressDeadlineExceeded', 'timed out'),
      available
    )
    fc.assert(
      fc.property(
        size,
        size,
        size,
        size,
        fc.nat({ max: 100 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(condition),
        (replicas, current, updated, ready, observed, above, conditions) => {
          const status = {
            observedGeneration: observed,
            replicas: current,
            updatedReplicas: updated,
            availableReplicas: ready,
            conditions
          }
          expect(rolloutStatus(deployment({ replicas }, status, observed + above))).toEqual(
            waiting('Waiting for deployment spec update to be observed...')
          )
        }
      )
    )
  })
})

function statefulSet(
  spec: Omit<StatefulSet['spec'], 'template'>,
  status: StatefulSet['status'],
  generation = 2
): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'payments', generation },
    spec: { ...spec, template: {} },
    status
  }
}

describe('rolloutStatus of a StatefulSet', () => {
  const rolling = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } as const
  const rolledOut = {
    observedGeneration: 2,
    replicas: 3,
    readyReplicas: 3,
    updatedReplicas: 3,
    currentRevision: 'db-2',
    updateRevision: 'db-2'
  }
  const midway = { ...rolledOut, updatedReplicas: 1, currentRevision: 'db-1' }

  it.each<[string, StatefulSet, RolloutStatus]>([
    ['OnDelete', statefulSet({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, midway), ON_DELETE],
    [
      'OnDelete, generation not observed',
      statefulSet({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, { ...midway, observedGeneration: 1 }),
      ON_DELETE
    ],
    [
      'generation not observed yet',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, observedGeneration: 1 }),
      waiting('Waiting for statefulset spec update to be observed...')
    ],
    [
      'no status yet',
      statefulSet({ replicas: 3, updateStrategy: rolling }, undefined),
      waiting('Waiting for statefulset spec update to be observed...')
    ],
    [
      'observed generation 0, even with generation 0',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, observedGeneration: 0 }, 0),
      waiting('Waiting for statefulset spec update to be observed...')
    ],
    ['generation observed', statefulSet({ replicas: 3, updateStrategy: rolling }, rolledOut), DONE],
    [
      'a later generation observed',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, observedGeneration: 5 }),
      DONE
    ],
    [
      '2 of 3 ready',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, readyReplicas: 1 }),
      waiting('Waiting for 2 pods to be ready...')
    ],
    [
      'none ready',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, readyReplicas: undefined }),
      waiting('Waiting for 3 pods to be ready...')
    ],
    [
      'replicas left out: 1, the API server default',
      statefulSet({ updateStrategy: rolling }, { observedGeneration: 2 }),
      waiting('Waiting for 1 pods to be ready...')
    ],
    ['scaled to zero', statefulSet({ replicas: 0, updateStrategy: rolling }, { observedGeneration: 2 }), DONE],
    // With a partition (the API server gives every rollingUpdate one, 0 by default), the revisions are not compared.
    [
      'partition 0, 1 of 3 updated',
      statefulSet({ replicas: 3, updateStrategy: rolling }, midway),
      waiting('Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated...')
    ],
    [
      'partition 0, all updated, revisions not yet equal',
      statefulSet({ replicas: 3, updateStrategy: rolling }, { ...rolledOut, currentRevision: 'db-1' }),
      DONE
    ],
    [
      'partition 2 of 5, 2 updated',
      statefulSet(
        { replicas: 5, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
        { ...midway, readyReplicas: 5, updatedReplicas: 2 }
      ),
      waiting('Waiting for partitioned roll out to finish: 2 out of 3 new pods have been updated...')
    ],
    [
      'partition 2 of 5, 3 updated',
      statefulSet(
        { replicas: 5, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
        { ...midway, readyReplicas: 5, updatedReplicas: 3 }
      ),
      DONE
    ],
    [
      'partition above replicas',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 5 } } },
        { ...midway, updatedReplicas: 0 }
      ),
      DONE
    ],
    [
      'a rollingUpdate without a partition: 0',
      statefulSet({ replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: {} } }, midway),
      waiting('Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated...')
    ],
    [
      'strategy type left out: the API server writes a rollingUpdate',
      statefulSet({ replicas: 3 }, midway),
      waiting('Waiting for partitioned roll out to finish: 1 out of 3 new pods have been updated...')
    ],
    [
      'strategy type left out, partition 1',
      statefulSet(
        { replicas: 3, updateStrategy: { rollingUpdate: { partition: 1 } } },
        { ...midway, updatedReplicas: 2 }
      ),
      DONE
    ],
    [
      'an empty spec',
      statefulSet({}, { ...rolledOut, replicas: 1, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'db-1' }),
      DONE
    ],
    // RollingUpdate written without a rollingUpdate stays so: the revisions decide.
    [
      'RollingUpdate without rollingUpdate, revisions differ',
      statefulSet({ replicas: 3, updateStrategy: { type: 'RollingUpdate' } }, midway),
      waiting('waiting for statefulset rolling update to complete 1 pods at revision db-2...')
    ],
    [
      'RollingUpdate without rollingUpdate, all updated, revisions differ',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate' } },
        { ...rolledOut, currentRevision: 'db-1' }
      ),
      waiting('waiting for statefulset rolling update to complete 3 pods at revision db-2...')
    ],
    [
      'RollingUpdate without rollingUpdate, revisions equal',
      statefulSet({ replicas: 3, updateStrategy: { type: 'RollingUpdate' } }, rolledOut),
      DONE
    ],
    [
      'RollingUpdate without rollingUpdate, no revisions yet',
      statefulSet(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate' } },
        { observedGeneration: 2, readyReplicas: 3 }
      ),
      DONE
    ]
  ])('%s', (_case, workload, expected) => {
    expect(rolloutStatus(workload)).toEqual(expected)
  })

  it('waits while the generation is not observed, whatever the rest', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 20 }),
        fc.nat({ max: 20 }),
        fc.nat({ max: 100 }),
        fc.integer({ min: 1, max: 5 }),
        fc.option(fc.nat({ max: 5 }), { nil: undefined }),
        (replicas, ready, observed, above, partition) => {
          const spec = {
            replicas,
            updateStrategy: {
              type: 'RollingUpdate' as const,
              ...(partition !== undefined && { rollingUpdate: { partition } })
            }
          }
          const status = { ...rolledOut, observedGeneration: observed, readyReplicas: ready }
          expect(rolloutStatus(statefulSet(spec, status, observed + above))).toEqual(
            waiting('Waiting for statefulset spec update to be observed...')
          )
        }
      )
    )
  })
})

function daemonSet(spec: Omit<DaemonSet['spec'], 'template'>, status: DaemonSet['status'], generation = 2): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'payments', generation },
    spec: { ...spec, template: {} },
    status
  }
}

describe('rolloutStatus of a DaemonSet', () => {
  const rolling = { updateStrategy: { type: 'RollingUpdate' } } as const
  const rolledOut = { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 }

  it.each<[string, DaemonSet, RolloutStatus]>([
    [
      'OnDelete',
      daemonSet({ updateStrategy: { type: 'OnDelete' } }, { ...rolledOut, updatedNumberScheduled: 0 }),
      ON_DELETE
    ],
    [
      'OnDelete, generation not observed',
      daemonSet({ updateStrategy: { type: 'OnDelete' } }, { ...rolledOut, observedGeneration: 1 }),
      ON_DELETE
    ],
    [
      'generation not observed yet',
      daemonSet(rolling, { ...rolledOut, observedGeneration: 1 }),
      waiting('Waiting for daemon set spec update to be observed...')
    ],
    ['no status yet', daemonSet(rolling, undefined), waiting('Waiting for daemon set spec update to be observed...')],
    ['generation observed', daemonSet(rolling, rolledOut), DONE],
    ['a later generation observed', daemonSet(rolling, { ...rolledOut, observedGeneration: 3 }), DONE],
    [
      'generation 0 and observed 0: judged (unlike a StatefulSet)',
      daemonSet(rolling, { ...rolledOut, observedGeneration: 0 }, 0),
      DONE
    ],
    ['strategy left out: RollingUpdate, the API server default', daemonSet({}, rolledOut), DONE],
    [
      '1 of 3 updated',
      daemonSet(rolling, { ...rolledOut, updatedNumberScheduled: 1 }),
      waiting('Waiting for daemon set "agent" rollout to finish: 1 out of 3 new pods have been updated...')
    ],
    [
      'none updated',
      daemonSet(rolling, { ...rolledOut, updatedNumberScheduled: undefined }),
      waiting('Waiting for daemon set "agent" rollout to finish: 0 out of 3 new pods have been updated...')
    ],
    [
      'updated before available',
      daemonSet(rolling, { ...rolledOut, updatedNumberScheduled: 2, numberAvailable: 1 }),
      waiting('Waiting for daemon set "agent" rollout to finish: 2 out of 3 new pods have been updated...')
    ],
    [
      'all updated, 2 of 3 available',
      daemonSet(rolling, { ...rolledOut, numberAvailable: 2 }),
      waiting('Waiting for daemon set "agent" rollout to finish: 2 of 3 updated pods are available...')
    ],
    ['no node to run on', daemonSet(rolling, { observedGeneration: 2 }), DONE],
    [
      'more updated and available than desired',
      daemonSet(rolling, { ...rolledOut, updatedNumberScheduled: 4, numberAvailable: 4 }),
      DONE
    ]
  ])('%s', (_case, workload, expected) => {
    expect(rolloutStatus(workload)).toEqual(expected)
  })

  it('is done once every scheduled pod is updated and available, and waits otherwise', () => {
    fc.assert(
      fc.property(fc.nat({ max: 20 }), fc.nat({ max: 20 }), fc.nat({ max: 20 }), (desired, updated, ready) => {
        const status = rolloutStatus(
          daemonSet(rolling, {
            observedGeneration: 2,
            desiredNumberScheduled: desired,
            updatedNumberScheduled: updated,
            numberAvailable: ready
          })
        )
        expect(status.state).toBe(updated >= desired && ready >= desired ? 'done' : 'waiting')
      })
    )
  })
})

function rollout(spec: Omit<Rollout['spec'], 'template'>, status: Rollout['status'], generation = 2): Rollout {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'api', namespace: 'payments', generation },
    spec: { ...spec, template: {} },
    status
  }
}

/** `kubectl argo rollouts status` (cmd/status/status.go) on GetRolloutPhase (utils/rollout/rolloututil.go). */
describe('rolloutStatus of a Rollout', () => {
  const healthy = { observedGeneration: '2', phase: 'Healthy' as const, updatedReplicas: 3, availableReplicas: 3 }

  it.each<[string, Rollout, RolloutStatus]>([
    ['Healthy, its generation observed', rollout({}, healthy), DONE],
    ['Healthy, a later generation observed', rollout({}, { ...healthy, observedGeneration: '3' }), DONE],
    ['Healthy, observed as a v0.9 hash', rollout({}, { ...healthy, observedGeneration: '6c9b5f7d' }), DONE],
    [
      'Healthy, but an older generation observed',
      rollout({}, { ...healthy, observedGeneration: '1' }),
      waiting('Progressing - waiting for rollout spec update to be observed')
    ],
    ['no status yet', rollout({}, undefined), waiting('Progressing - waiting for rollout spec update to be observed')],
    [
      'unpausing: controllerPause without pause conditions',
      rollout({}, { ...healthy, controllerPause: true }),
      waiting('Progressing - waiting for rollout to unpause')
    ],
    [
      'paused by the controller with its conditions',
      rollout({}, { ...healthy, controllerPause: true, pauseConditions: [{ reason: 'CanaryPauseStep' }] }),
      DONE
    ],
    [
      'Progressing, restarting',
      rollout({}, { ...healthy, phase: 'Progressing', message: 'rollout is restarting' }),
      waiting('Progressing - rollout is restarting')
    ],
    ['Progressing without a message', rollout({}, { ...healthy, phase: 'Progressing' }), waiting('Progressing')],
    [
      'Degraded',
      rollout(
        {},
        {
          ...healthy,
          phase: 'Degraded',
          message: 'ProgressDeadlineExceeded: ReplicaSet "api-5f" has timed out progressing.'
        }
      ),
      {
        state: 'failed',
        reason:
          'The rollout is in a degraded state with message: ProgressDeadlineExceeded: ReplicaSet "api-5f" has timed out progressing.'
      }
    ],
    [
      'Paused',
      rollout({ paused: true }, { ...healthy, phase: 'Paused', message: 'manually paused' }),
      { state: 'failed', reason: 'The rollout is paused: manually paused' }
    ],
    [
      'no phase (a controller before v1.0)',
      rollout({}, { ...healthy, phase: undefined }),
      waiting('the controller reports no phase yet (status.phase: Argo Rollouts v1.0 or later)')
    ]
  ])('%s', (_case, workload, expected) => {
    expect(rolloutStatus(workload)).toEqual(expected)
  })

  it('waits until the controller has observed the generation of a workloadRef Deployment', () => {
    const referencing = (observed: string | undefined): Rollout => ({
      ...rollout(
        { workloadRef: { kind: 'Deployment', name: 'api' } },
        { ...healthy, workloadObservedGeneration: observed }
      ),
      metadata: { name: 'api', namespace: 'payments', generation: 2, annotations: { [WORKLOAD_GENERATION]: '5' } }
    })
    expect(rolloutStatus(referencing('4'))).toEqual(
      waiting('Progressing - waiting for rollout spec update to be observed for the reference workload')
    )
    expect(rolloutStatus(referencing('5'))).toEqual(DONE)
    expect(rolloutStatus(referencing(undefined))).toEqual(DONE)
  })

  it('judges the phase only once the generation is observed, whatever the phase', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 5 }),
        fc.nat({ max: 5 }),
        fc.constantFrom('Healthy', 'Progressing', 'Degraded', 'Paused'),
        (generation, observed, phase: 'Healthy' | 'Progressing' | 'Degraded' | 'Paused') => {
          const status = rolloutStatus(
            rollout({}, { ...healthy, observedGeneration: String(observed), phase }, generation)
          )
          const expected = { Healthy: 'done', Progressing: 'waiting', Degraded: 'failed', Paused: 'failed' }[phase]
          expect(status.state).toBe(observed >= generation ? expected : 'waiting')
        }
      )
    )
  })
})

describe('isPaused', () => {
  it.each([
    ['a paused Deployment', deployment({ paused: true }, undefined), true],
    ['an unpaused Deployment', deployment({ paused: false }, undefined), false],
    ['a Deployment without paused', deployment({ replicas: 1 }, undefined), false],
    ['a StatefulSet', statefulSet({ replicas: 1 }, undefined), false],
    ['a DaemonSet', daemonSet({}, undefined), false],
    ['a Rollout paused by hand', rollout({ paused: true }, { phase: 'Progressing' }), true],
    [
      'a Rollout paused at a step',
      rollout({}, { phase: 'Paused', message: 'CanaryPauseStep', pauseConditions: [{ reason: 'CanaryPauseStep' }] }),
      true
    ],
    [
      'a Rollout unpausing (controllerPause, its conditions cleared)',
      rollout({}, { phase: 'Paused', controllerPause: true, pauseConditions: [] }),
      false
    ],
    ['a Healthy Rollout', rollout({}, { phase: 'Healthy' }), false],
    ['a Degraded Rollout', rollout({}, { phase: 'Degraded' }), false]
  ])('%s → %s', (_case, workload, paused) => {
    expect(isPaused(workload)).toBe(paused)
  })

  it('says how to get a paused workload going', () => {
    expect(pausedReason(deployment({ paused: true }, undefined))).toBe(
      'paused: resume it, then re-run (or restart it yourself)'
    )
    expect(pausedReason(rollout({ paused: true }, { phase: 'Paused', message: 'manually paused' }))).toBe(
      'paused (manually paused): promote or resume it (kubectl argo rollouts promote), then re-run'
    )
    expect(pausedReason(rollout({}, { phase: 'Paused', pauseConditions: [{ reason: 'CanaryPauseStep' }] }))).toBe(
      'paused (CanaryPauseStep): promote or resume it (kubectl argo rollouts promote), then re-run'
    )
  })
})

describe('restartStamp', () => {
  it('is RFC 3339 to the millisecond for the apps kinds', () => {
    expect(restartStamp('Deployment', Date.parse('2026-12-07T14:03:24.250Z'))).toBe('2026-12-07T14:03:24.250Z')
    expect(restartStamp('DaemonSet', Date.parse('2026-12-07T14:03:24Z'))).toBe('2026-12-07T14:03:24.000Z')
  })

  it('is whole seconds, rounded up, for a Rollout: what metav1.Time keeps, and no pod of this second counts as new', () => {
    expect(restartStamp('Rollout', Date.parse('2026-12-07T14:03:24.250Z'))).toBe('2026-12-07T14:03:25Z')
    expect(restartStamp('Rollout', Date.parse('2026-12-07T14:03:24.999Z'))).toBe('2026-12-07T14:03:25Z')
    expect(restartStamp('Rollout', Date.parse('2026-12-07T14:03:24Z'))).toBe('2026-12-07T14:03:24Z')
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), (ms) => {
        const stamp = restartStamp('Rollout', ms)
        expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        expect(Date.parse(stamp)).toBeGreaterThanOrEqual(ms)
        expect(Date.parse(stamp) - ms).toBeLessThan(1000)
      })
    )
  })
})

describe('resolveWorkloadRefs', () => {
  const template = { spec: { containers: [{ envFrom: [{ secretRef: { name: 'payments-db' } }] }] } }
  const source: Deployment = {
    ...deployment({ replicas: 0 }, undefined),
    metadata: { name: 'api-template', namespace: 'payments' },
    spec: { replicas: 0, template }
  }
  const referencing: Rollout = {
    ...rollout({ workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-template' } }, undefined),
    spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-template' } }
  }

  it('gives a Rollout the template of the Deployment its workloadRef names, and leaves that Deployment out', () => {
    const resolved = resolveWorkloadRefs([source, referencing])
    expect(resolved).toEqual([{ ...referencing, spec: { ...referencing.spec, template } }])
  })

  it.each<[string, Workload[]]>([
    [
      'a Deployment of another namespace',
      [{ ...source, metadata: { ...source.metadata, namespace: 'other' } }, referencing]
    ],
    ['a Deployment of another name', [{ ...source, metadata: { ...source.metadata, name: 'other' } }, referencing]],
    ['no Deployment listed', [referencing]]
  ])('leaves the Rollout without a template, and every other workload as it is, with %s', (_case, workloads) => {
    expect(resolveWorkloadRefs(workloads)).toEqual(workloads)
  })

  it('keeps a Rollout with its own template and the Deployments no Rollout references', () => {
    const own = rollout({}, undefined)
    expect(resolveWorkloadRefs([source, own])).toEqual([source, own])
  })
})

describe('isWorkload', () => {
  const object = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'payments' },
    spec: { replicas: 1, template: {} }
  }

  it.each<[string, unknown, boolean]>([
    ['a Deployment', object, true],
    ['a StatefulSet', { ...object, kind: 'StatefulSet' }, true],
    ['a DaemonSet', { ...object, kind: 'DaemonSet' }, true],
    ['a ReplicaSet', { ...object, kind: 'ReplicaSet' }, false],
    ['a Rollout', { ...object, apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' }, true],
    [
      'a Rollout with a workloadRef and no template',
      {
        ...object,
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        spec: { workloadRef: { kind: 'Deployment', name: 'api' } }
      },
      true
    ],
    ['a Rollout of the apps group', { ...object, kind: 'Rollout' }, false],
    ['a Deployment of argoproj.io', { ...object, apiVersion: 'argoproj.io/v1alpha1' }, false],
    ['a Deployment with a workloadRef and no template', { ...object, spec: { workloadRef: {} } }, false],
    ['a Deployment of another group', { ...object, apiVersion: 'example.com/v1' }, false],
    ['no apiVersion', { ...object, apiVersion: undefined }, false],
    ['a list item, which carries no kind', { ...object, apiVersion: undefined, kind: undefined }, false],
    ['no name', { ...object, metadata: { namespace: 'payments' } }, false],
    ['no metadata', { ...object, metadata: undefined }, false],
    ['no pod template', { ...object, spec: { replicas: 1 } }, false],
    ['no spec', { ...object, spec: undefined }, false],
    ['a list', [object], false],
    ['null', null, false]
  ])('%s → %s', (_case, candidate, expected) => {
    expect(isWorkload(candidate)).toBe(expected)
  })
})
