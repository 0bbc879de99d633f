// The `[zookeeper]` section: where the ZooKeeper ensemble is and how long a session lasts.
import { defineFlag } from '../../config/index.ts';

export const zookeeperHostsList = defineFlag({
  section: 'zookeeper',
  name: 'hosts_list',
  type: 'FV_STRING',
  default: '127.0.0.1:22181',
  description: 'The ZooKeeper servers the meta servers keep their state and leader lock in, as host:port separated by commas',
});

export const zookeeperTimeoutMs = defineFlag({
  section: 'zookeeper',
  name: 'timeout_ms',
  type: 'FV_INT32',
  default: 30000,
  description:
    'The ZooKeeper session timeout (ms) a meta server asks for: a primary that dies loses the leader lock this long after ' +
    'its last contact. The server grants a value between 2 and 20 times its tickTime',
  validator: (value) => value >= 100,
});
