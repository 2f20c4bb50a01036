"""Secret stores: settings that name a store or a file are resolved here, before the
settings are parsed. :mod:`.references` reads a reference, :mod:`.resolve` reads every
reference of an environment (keeping values for their TTL), and one module per store reads
it through its vendor's SDK (:mod:`.aws`, :mod:`.tencent`); the permissions each needs from
the function's role are :data:`ROLE_ACTIONS`.
"""

# the permission each store needs from the function's role (deploy/aws/serverless.yml; on
# SCF the CAM role's policy): Powertools calls GetSecretValue / GetParameter; a tencent-ssm
# reference without @VERSION lists the versions first
ROLE_ACTIONS = {"secretsmanager": ("secretsmanager:GetSecretValue",),
                "ssm": ("ssm:GetParameter",),
                "tencent-ssm": ("ssm:GetSecretValue", "ssm:ListSecretVersionIds")}
