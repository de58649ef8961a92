#include "src/store/sql.h"

namespace protomesh::store::sql {

void PrepareStatements(pqxx::connection_base& connection) {
  static constexpr std::pair<const char*, const char*> kStatements[] = {
      {kWriteBatch, kWriteBatchSql},
      {kBackendIdentity, kBackendIdentitySql},
      {kEndBackend, kEndBackendSql},
      {kBackendAlive, kBackendAliveSql},
      {kWriterBatch, kWriterBatchSql},
      {kHeadRevision, kHeadRevisionSql},
      {kCompactedRevision, kCompactedRevisionSql},
      {kGetHead, kGetHeadSql},
      {kGetAt, kGetAtSql},
      {kListHead, kListHeadSql},
      {kListAt, kListAtSql},
      {kHistory, kHistorySql},
      {kChangesOfNamespace, kChangesOfNamespaceSql},
      {kChangesOfAll, kChangesOfAllSql},
  };
  for (const auto& [name, text] : kStatements) connection.prepare(name, text);
}

}  // namespace protomesh::store::sql
